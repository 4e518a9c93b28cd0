/**
 * A simulated Autotask REST API on loopback (node:http only), enforcing the real limits:
 *
 * 1. Zone look-ups (`GET /atservicesrest/v1.0/zoneInformation?user=`) need no credentials and are
 *    neither counted nor thread-limited; they are logged apart (`zoneLookups()`), not in `calls()`.
 * 2. A path not in the swagger answers 404, a method the swagger does not list for it 405. These are
 *    refused by routing before the API looks at credentials, so they are NOT counted.
 * 3. Credentials: `UserName` + `Secret` (401 when missing or wrong), then `ApiIntegrationCode` (500
 *    "IntegrationCode is invalid." when unknown, as the README reports). Requests failing
 *    authentication are NOT counted: they cannot be attributed to an API user of the database.
 *    (Unconfirmed on the real API; a governor should count them anyway to be safe.)
 * 4. Cap: if the counted requests in the rolling window (the last `windowSeconds`, not clock-aligned)
 *    already reach `limit`, answer 429 with "...API request threshold of N requests per 60 minutes
 *    exceeded...". A refused request is NOT counted (real behaviour unconfirmed; counting refusals
 *    would lock a client out for as long as it keeps retrying).
 * 5. Every other authenticated request is counted at receipt, including ThresholdInformation.
 * 6. Thread limit: if `threadLimit` requests of the same integration code are in flight on the same
 *    endpoint (endpoint.ts), answer 429 "Thread Threshold Exceeded — Itgenatr005 ..." (after the base
 *    latency only). It IS
 *    counted (it reached the server). A slot is held from receipt until the answer is sent or the
 *    client goes away.
 * 7. Injected faults hit admitted requests (counted: a client cannot know whether a 500, a timeout
 *    or a reset consumed budget) and zone look-ups (not counted).
 * 8. Latency: `baseLatencyMs` on every answer, plus 0.5 s × latencyScale when the window total at
 *    receipt (including the request) is >= 50 % of the limit, 1 s × latencyScale when >= 75 %.
 *
 * Control plane under `/_sim/`: control.ts. Settings: knobs.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Controllable, control, type PendingFaultView } from '#local/autotask-sim/control.ts';
import { endpointOf } from '#local/autotask-sim/endpoint.ts';
import { handleApi } from '#local/autotask-sim/handlers.ts';
import { header, readBody, sendJson } from '#local/autotask-sim/http.ts';
import { DEFAULT_KNOBS, isFiniteNumber, mergeKnobs } from '#local/autotask-sim/knobs.ts';
import { OtherLoad } from '#local/autotask-sim/other-load.ts';
import { SimHttpError } from '#local/autotask-sim/query.ts';
import { matchRoute, type Route } from '#local/autotask-sim/routes.ts';
import {
  busiestWindow,
  latencyFor,
  RollingCounter,
  ThreadSlots,
  threadLimitMessage,
  thresholdMessage,
} from '#local/autotask-sim/rules.ts';
import { SimStore } from '#local/autotask-sim/store.ts';
import type {
  AutotaskSimulator,
  SimCall,
  SimFault,
  SimKnobs,
  SimOptions,
  SimOutcome,
  SimUsage,
} from '#local/autotask-sim/types.ts';

const API_PREFIX = '/atservicesrest/';
const ZONE_PATH = /^v1\.0\/zoneinformation\/?$/i;
const TIMEOUT_FAULT_MS = 60_000;
const OTHER_CODES = ['OTHER-RMM', 'OTHER-BILLING', 'OTHER-REPORTING'];
const OTHER_REQUESTS: ReadonlyArray<readonly [method: string, path: string, endpoint: string]> = [
  ['POST', '/atservicesrest/v1.0/Tickets/query', 'Tickets'],
  ['GET', '/atservicesrest/v1.0/Companies/1', 'Companies'],
  ['POST', '/atservicesrest/v1.0/ConfigurationItems/query', 'ConfigurationItems'],
  ['PATCH', '/atservicesrest/v1.0/Tickets', 'Tickets'],
  ['POST', '/atservicesrest/v1.0/Contacts/query', 'Contacts'],
];

type PendingFault = SimFault & { left: number };

export class Simulator implements Controllable {
  url = '';
  zoneDiscoveryUrl = '';
  private settings: SimKnobs;
  private store: SimStore;
  private readonly server: Server;
  private log: SimCall[] = [];
  private zoneLog: SimCall[] = [];
  private seq = 0;
  private readonly counter = new RollingCounter();
  private readonly slots = new ThreadSlots();
  private faults: PendingFault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly otherLoad = new OtherLoad((n) => this.addOtherCalls(n));
  private otherSeq = 0;
  private stopping: Promise<void> | null = null;

  constructor(options: SimOptions = {}) {
    this.settings = mergeKnobs(DEFAULT_KNOBS, options);
    this.store = new SimStore(this.settings.seedTickets);
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${address.port}`;
    this.zoneDiscoveryUrl = `${this.url}/atservicesrest`;
    this.restartOtherLoad();
  }

  // ---------------------------------------------------------------- public API

  calls(filter: { source?: 'ours' | 'other'; sinceSeq?: number } = {}): SimCall[] {
    const { source, sinceSeq } = filter;
    return this.log
      .filter(
        (c) => (source === undefined || c.source === source) && (sinceSeq === undefined || c.seq > sinceSeq),
      )
      .map((c) => ({ ...c }));
  }

  zoneLookups(): SimCall[] {
    return this.zoneLog.map((c) => ({ ...c }));
  }

  windowTotal(at: number = Date.now()): number {
    return this.counter.total(at, this.windowMs());
  }

  maxInRollingWindow(opts: { source?: 'ours' | 'other' | 'all'; from?: number; to?: number } = {}): number {
    const { source = 'all', from, to } = opts;
    const times = this.log
      .filter(
        (c) =>
          c.countedInWindow &&
          (source === 'all' || c.source === source) &&
          (from === undefined || c.at >= from) &&
          (to === undefined || c.at <= to),
      )
      .map((c) => c.at);
    return busiestWindow(times, this.windowMs());
  }

  usage(): SimUsage {
    const now = Date.now();
    const since = now - this.windowMs();
    let ours = 0;
    let others = 0;
    let throttled429 = 0;
    let threadLimited = 0;
    for (const c of this.log) {
      if (c.outcome === 'throttled') throttled429++;
      if (c.outcome === 'thread-limit') threadLimited++;
      if (c.countedInWindow && c.at > since && c.at <= now) {
        if (c.source === 'ours') ours++;
        else others++;
      }
    }
    return {
      limit: this.settings.limit,
      windowSeconds: this.settings.windowSeconds,
      windowTotal: this.windowTotal(now),
      ours,
      others,
      maxRollingWindow: this.maxInRollingWindow({ source: 'all' }),
      maxRollingWindowOurs: this.maxInRollingWindow({ source: 'ours' }),
      throttled429,
      threadLimited,
    };
  }

  setKnobs(k: Partial<SimOptions>): void {
    const before = this.settings;
    this.settings = mergeKnobs(before, k);
    if (this.settings.seedTickets !== before.seedTickets)
      this.store = new SimStore(this.settings.seedTickets);
    if (k.otherIntegrations !== undefined || this.settings.windowSeconds !== before.windowSeconds) {
      this.restartOtherLoad();
    }
  }

  knobs(): SimKnobs {
    return {
      ...this.settings,
      users: this.settings.users.map((u) => ({ ...u })),
      otherIntegrations: { ...this.settings.otherIntegrations },
    };
  }

  injectFault(f: SimFault): void {
    const kinds = ['http500', 'timeout', 'reset', 'http400'];
    if (!f || !kinds.includes(f.kind)) throw new Error(`fault kind must be one of ${kinds.join(', ')}`);
    if (!isFiniteNumber(f.count) || f.count < 1) throw new Error('fault count must be a number >= 1');
    this.faults.push({
      kind: f.kind,
      count: f.count,
      left: Math.floor(f.count),
      ...(f.match ? { match: { ...f.match } } : {}),
    });
  }

  addOtherCalls(n: number): void {
    const windowMs = this.windowMs();
    for (let i = 0; i < n; i++) {
      const at = Date.now();
      const k = this.otherSeq++;
      const [method, path, endpoint] = OTHER_REQUESTS[k % OTHER_REQUESTS.length]!;
      const before = this.counter.total(at, windowMs);
      const refused = before >= this.settings.limit;
      if (!refused) this.counter.add(at);
      this.log.push({
        seq: ++this.seq,
        at,
        doneAt: at,
        method,
        path,
        endpoint,
        source: 'other',
        integrationCode: OTHER_CODES[k % OTHER_CODES.length]!,
        status: refused ? 429 : 200,
        outcome: refused ? 'throttled' : 'ok',
        countedInWindow: !refused,
        windowTotalAtReceipt: refused ? before : before + 1,
      });
    }
  }

  pendingFaults(): PendingFaultView[] {
    return this.faults.map((f) => ({ kind: f.kind, left: f.left, match: f.match ?? null }));
  }

  reset(): void {
    // seq keeps growing, so a consumer polling with sinceSeq never sees a number twice.
    this.log = [];
    this.zoneLog = [];
    this.counter.clear();
    this.faults = [];
    this.restartOtherLoad();
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.otherLoad.stop();
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.stopping = new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    }
    return this.stopping;
  }

  // ---------------------------------------------------------------- request handling

  private windowMs(): number {
    return this.settings.windowSeconds * 1000;
  }

  private restartOtherLoad(): void {
    const o = this.settings.otherIntegrations;
    this.otherLoad.start({
      requestsPerWindow: o.requestsPerWindow,
      bursty: o.bursty,
      burstEverySeconds:
        o.burstEverySeconds > 0 ? o.burstEverySeconds : Math.max(1, this.settings.windowSeconds / 10),
      windowSeconds: this.settings.windowSeconds,
    });
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const at = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', this.url || 'http://127.0.0.1');
    } catch {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ errors: ['The request URL is not valid.'] }));
      return;
    }
    const pathname = url.pathname;
    if (/^\/_sim(?:\/|$)/i.test(pathname)) {
      control(this, req, res, url, method).catch((err: unknown) => {
        sendJson(res, 500, { errors: [`Simulator control error: ${(err as Error).message}`] });
      });
      return;
    }

    const below = pathname.toLowerCase().startsWith(API_PREFIX) ? pathname.slice(API_PREFIX.length) : null;
    const entry: SimCall = {
      seq: ++this.seq,
      at,
      doneAt: 0,
      method,
      path: pathname,
      endpoint: endpointOf(below ?? pathname),
      source: 'ours',
      integrationCode: header(req, 'apiintegrationcode') ?? '',
      status: 0,
      outcome: 'ok',
      countedInWindow: false,
      windowTotalAtReceipt: this.windowTotal(at),
    };
    res.on('close', () => {
      if (!entry.doneAt) entry.doneAt = Date.now();
    });
    const base = this.settings.baseLatencyMs;

    if (below !== null && ZONE_PATH.test(below)) {
      entry.endpoint = 'ZoneInformation';
      this.zoneLog.push(entry);
      this.zoneLookup(req, res, url, entry);
      return;
    }
    this.log.push(entry);
    if (below === null) {
      this.refuse(req, res, entry, 404, `No Autotask REST resource at "${pathname}".`, 'error', base);
      return;
    }
    const match = matchRoute(method, below);
    if (!('route' in match)) {
      this.refuse(req, res, entry, match.status, match.message, 'error', base);
      return;
    }
    const route = match.route;
    entry.endpoint = route.endpoint;

    const denied = this.authenticate(req);
    if (denied) {
      this.refuse(req, res, entry, denied.status, denied.message, 'error', base);
      return;
    }
    const { limit, threadLimit, windowSeconds } = this.settings;
    const before = this.counter.total(at, this.windowMs());
    if (before >= limit) {
      // Refused at the cap: NOT counted (see the header comment).
      entry.windowTotalAtReceipt = before;
      this.refuse(req, res, entry, 429, thresholdMessage(limit, windowSeconds), 'throttled', base);
      return;
    }
    this.counter.add(at);
    entry.countedInWindow = true;
    entry.windowTotalAtReceipt = before + 1;

    const release = this.slots.tryAcquire(
      `${entry.integrationCode}\u0000${route.endpoint.toLowerCase()}`,
      threadLimit,
    );
    if (!release) {
      // Over the thread limit: counted (it reached the server), answered at once.
      this.refuse(req, res, entry, 429, threadLimitMessage(threadLimit), 'thread-limit', base);
      return;
    }
    res.on('close', release);

    if (this.applyFault(req, res, entry, below)) return;
    this.admitted(req, res, url, route, entry, latencyFor(entry.windowTotalAtReceipt, this.settings)).catch(
      (err: unknown) => {
        this.sendCall(res, entry, 500, { errors: [`Simulator error: ${(err as Error).message}`] }, 'error');
      },
    );
  }

  private async admitted(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    route: Route,
    entry: SimCall,
    delayMs: number,
  ): Promise<void> {
    const ready = new Promise<void>((resolve) => this.later(delayMs, resolve));
    let status: number;
    let body: unknown;
    try {
      const rawBody = await readBody(req);
      const answer = handleApi({
        route,
        url,
        rawBody,
        store: this.store,
        origin: this.url,
        threshold: () => ({
          externalRequestThreshold: this.settings.limit,
          requestThresholdTimeframe: this.settings.windowSeconds / 60,
          currentTimeframeRequestCount: this.windowTotal(),
        }),
      });
      status = answer.status;
      body = answer.body;
    } catch (err) {
      if (!(err instanceof SimHttpError)) throw err;
      status = err.status;
      body = { errors: [err.message] };
    }
    await ready;
    this.sendCall(res, entry, status, body, status >= 200 && status < 300 ? 'ok' : 'error');
  }

  private authenticate(req: IncomingMessage): { status: number; message: string } | null {
    const username = header(req, 'username');
    const secret = header(req, 'secret');
    const code = header(req, 'apiintegrationcode');
    const users = this.settings.users;
    const user = username
      ? users.find((u) => u.username.toLowerCase() === username.toLowerCase())
      : undefined;
    if (!user || !secret || user.secret !== secret) {
      return {
        status: 401,
        message: 'Unauthorized: the UserName and Secret headers do not identify an API user.',
      };
    }
    if (!code || !users.some((u) => u.integrationCode === code)) {
      return { status: 500, message: 'IntegrationCode is invalid.' };
    }
    return null;
  }

  private zoneLookup(req: IncomingMessage, res: ServerResponse, url: URL, entry: SimCall): void {
    const base = this.settings.baseLatencyMs;
    if (entry.method !== 'GET') {
      const message = `The requested resource does not support http method '${entry.method}'. Allowed: GET.`;
      this.refuse(req, res, entry, 405, message, 'error', base);
      return;
    }
    if (this.applyFault(req, res, entry, url.pathname.slice(API_PREFIX.length))) return;
    const user = url.searchParams.get('user') ?? '';
    const known = this.settings.users.some((u) => u.username.toLowerCase() === user.toLowerCase());
    if (!known) {
      this.refuse(req, res, entry, 500, 'Zone information could not be determined', 'error', base);
      return;
    }
    req.resume();
    this.later(base, () =>
      this.sendCall(
        res,
        entry,
        200,
        { zoneName: 'Local Simulator', url: `${this.url}/atservicesrest/`, webUrl: `${this.url}/`, ci: 0 },
        'ok',
      ),
    );
  }

  /** Applies the first pending fault matching the request; true when it took over the answer. */
  private applyFault(req: IncomingMessage, res: ServerResponse, entry: SimCall, below: string): boolean {
    const relative = `/${below.replace(/^v1\.0\/?/i, '')}`.toLowerCase();
    const full = entry.path.toLowerCase();
    const fault = this.faults.find((f) => {
      if (f.left <= 0) return false;
      if (f.match?.method && f.match.method.toUpperCase() !== entry.method) return false;
      const prefix = f.match?.pathPrefix?.toLowerCase();
      return !prefix || full.startsWith(prefix) || relative.startsWith(prefix);
    });
    if (!fault) return false;
    fault.left--;
    this.faults = this.faults.filter((f) => f.left > 0);
    entry.outcome = 'fault';
    const base = this.settings.baseLatencyMs;
    switch (fault.kind) {
      case 'http500':
        this.refuse(req, res, entry, 500, 'Simulated server error (injected fault).', 'fault', base);
        break;
      case 'http400':
        this.refuse(req, res, entry, 400, 'Simulated bad request (injected fault).', 'fault', base);
        break;
      case 'reset':
        entry.doneAt = Date.now();
        req.socket.destroy();
        break;
      case 'timeout': {
        req.resume();
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          req.socket.destroy();
        }, TIMEOUT_FAULT_MS);
        timer.unref();
        this.timers.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          this.timers.delete(timer);
        });
        break;
      }
    }
    return true;
  }

  /** An answer decided at receipt: the body is drained, the errors envelope sent after `delayMs`. */
  private refuse(
    req: IncomingMessage,
    res: ServerResponse,
    entry: SimCall,
    status: number,
    message: string,
    outcome: SimOutcome,
    delayMs: number,
  ): void {
    entry.outcome = outcome;
    req.resume();
    this.later(delayMs, () => this.sendCall(res, entry, status, { errors: [message] }, outcome));
  }

  private sendCall(
    res: ServerResponse,
    entry: SimCall,
    status: number,
    body: unknown,
    outcome: SimOutcome,
  ): void {
    if (entry.outcome !== 'fault') entry.outcome = outcome;
    if (!sendJson(res, status, body)) return;
    entry.status = status;
    entry.doneAt = Date.now();
  }
}

export const startAutotaskSimulator = async (
  opts: SimOptions & { port?: number } = {},
): Promise<AutotaskSimulator> => {
  const { port = 0, ...options } = opts;
  const sim = new Simulator(options);
  await sim.listen(port);
  return sim;
};
