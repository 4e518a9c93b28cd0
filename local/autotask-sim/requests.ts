/**
 * The request pipeline of the simulated Autotask REST API, enforcing the real limits:
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
 * Control plane under `/_sim/`: control.ts. Call logs and the window counter: call-log.ts.
 * Injected faults: faults.ts. Delayed and logged answers: replies.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallLog } from '#local/autotask-sim/call-log.ts';
import { type Controllable, control } from '#local/autotask-sim/control.ts';
import { endpointOf } from '#local/autotask-sim/endpoint.ts';
import type { FaultInjector } from '#local/autotask-sim/faults.ts';
import { handleApi } from '#local/autotask-sim/handlers.ts';
import { header, readBody, sendJson } from '#local/autotask-sim/http.ts';
import { SimHttpError } from '#local/autotask-sim/query.ts';
import type { Replies } from '#local/autotask-sim/replies.ts';
import { matchRoute, type Route } from '#local/autotask-sim/routes.ts';
import { latencyFor, ThreadSlots, threadLimitMessage, thresholdMessage } from '#local/autotask-sim/rules.ts';
import type { SimStore } from '#local/autotask-sim/store.ts';
import type { SimCall, SimKnobs } from '#local/autotask-sim/types.ts';

const API_PREFIX = '/atservicesrest/';
const ZONE_PATH = /^v1\.0\/zoneinformation\/?$/i;

/** What the pipeline uses of the simulator. */
export interface RequestContext {
  /** The simulator: its `url`, and the API the control plane reads and changes. */
  readonly sim: Controllable;
  readonly callLog: CallLog;
  readonly faults: FaultInjector;
  readonly replies: Replies;
  /** The current settings and store (both are replaced when the knobs change). */
  settings(): SimKnobs;
  store(): SimStore;
}

export class RequestPipeline {
  private readonly slots = new ThreadSlots();
  private readonly callLog: CallLog;
  private readonly faults: FaultInjector;
  private readonly replies: Replies;

  constructor(private readonly ctx: RequestContext) {
    this.callLog = ctx.callLog;
    this.faults = ctx.faults;
    this.replies = ctx.replies;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const at = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', this.ctx.sim.url || 'http://127.0.0.1');
    } catch {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ errors: ['The request URL is not valid.'] }));
      return;
    }
    const pathname = url.pathname;
    if (/^\/_sim(?:\/|$)/i.test(pathname)) {
      control(this.ctx.sim, req, res, url, method).catch((err: unknown) => {
        sendJson(res, 500, { errors: [`Simulator control error: ${(err as Error).message}`] });
      });
      return;
    }

    const below = pathname.toLowerCase().startsWith(API_PREFIX) ? pathname.slice(API_PREFIX.length) : null;
    const entry: SimCall = {
      seq: this.callLog.nextSeq(),
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
      windowTotalAtReceipt: this.callLog.windowTotal(at),
    };
    res.on('close', () => {
      if (!entry.doneAt) entry.doneAt = Date.now();
    });
    const base = this.ctx.settings().baseLatencyMs;

    if (below !== null && ZONE_PATH.test(below)) {
      entry.endpoint = 'ZoneInformation';
      this.callLog.recordZoneLookup(entry);
      this.zoneLookup(req, res, url, entry);
      return;
    }
    this.callLog.record(entry);
    if (below === null) {
      this.replies.refuse(req, res, entry, 404, `No Autotask REST resource at "${pathname}".`, 'error', base);
      return;
    }
    const match = matchRoute(method, below);
    if (!('route' in match)) {
      this.replies.refuse(req, res, entry, match.status, match.message, 'error', base);
      return;
    }
    const route = match.route;
    entry.endpoint = route.endpoint;

    const denied = this.authenticate(req);
    if (denied) {
      this.replies.refuse(req, res, entry, denied.status, denied.message, 'error', base);
      return;
    }
    const { limit, threadLimit, windowSeconds } = this.ctx.settings();
    const before = this.callLog.windowTotal(at);
    if (before >= limit) {
      // Refused at the cap: NOT counted (see the header comment).
      entry.windowTotalAtReceipt = before;
      this.replies.refuse(req, res, entry, 429, thresholdMessage(limit, windowSeconds), 'throttled', base);
      return;
    }
    this.callLog.count(at);
    entry.countedInWindow = true;
    entry.windowTotalAtReceipt = before + 1;

    const release = this.slots.tryAcquire(
      `${entry.integrationCode}\u0000${route.endpoint.toLowerCase()}`,
      threadLimit,
    );
    if (!release) {
      // Over the thread limit: counted (it reached the server), answered at once.
      this.replies.refuse(req, res, entry, 429, threadLimitMessage(threadLimit), 'thread-limit', base);
      return;
    }
    res.on('close', release);

    if (this.faults.apply(req, res, entry, below)) return;
    this.admitted(
      req,
      res,
      url,
      route,
      entry,
      latencyFor(entry.windowTotalAtReceipt, this.ctx.settings()),
    ).catch((err: unknown) => {
      this.replies.sendCall(
        res,
        entry,
        500,
        { errors: [`Simulator error: ${(err as Error).message}`] },
        'error',
      );
    });
  }

  private async admitted(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    route: Route,
    entry: SimCall,
    delayMs: number,
  ): Promise<void> {
    const ready = new Promise<void>((resolve) => this.replies.later(delayMs, resolve));
    let status: number;
    let body: unknown;
    try {
      const rawBody = await readBody(req);
      const answer = handleApi({
        route,
        url,
        rawBody,
        store: this.ctx.store(),
        origin: this.ctx.sim.url,
        threshold: () => ({
          externalRequestThreshold: this.ctx.settings().limit,
          requestThresholdTimeframe: this.ctx.settings().windowSeconds / 60,
          currentTimeframeRequestCount: this.callLog.windowTotal(),
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
    this.replies.sendCall(res, entry, status, body, status >= 200 && status < 300 ? 'ok' : 'error');
  }

  private authenticate(req: IncomingMessage): { status: number; message: string } | null {
    const username = header(req, 'username');
    const secret = header(req, 'secret');
    const code = header(req, 'apiintegrationcode');
    const users = this.ctx.settings().users;
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
    const base = this.ctx.settings().baseLatencyMs;
    if (entry.method !== 'GET') {
      const message = `The requested resource does not support http method '${entry.method}'. Allowed: GET.`;
      this.replies.refuse(req, res, entry, 405, message, 'error', base);
      return;
    }
    if (this.faults.apply(req, res, entry, url.pathname.slice(API_PREFIX.length))) return;
    const user = url.searchParams.get('user') ?? '';
    const known = this.ctx.settings().users.some((u) => u.username.toLowerCase() === user.toLowerCase());
    if (!known) {
      this.replies.refuse(req, res, entry, 500, 'Zone information could not be determined', 'error', base);
      return;
    }
    req.resume();
    this.replies.later(base, () =>
      this.replies.sendCall(
        res,
        entry,
        200,
        {
          zoneName: 'Local Simulator',
          url: `${this.ctx.sim.url}/atservicesrest/`,
          webUrl: `${this.ctx.sim.url}/`,
          ci: 0,
        },
        'ok',
      ),
    );
  }
}
