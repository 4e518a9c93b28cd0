/**
 * Rate-limit accounting: the log of API calls and of zone look-ups (one sequence for both), the
 * rolling-window counter of counted requests, the usage figures read from them, and the simulated
 * calls of other integrations, counted or refused at the cap like any request.
 */
import { busiestWindow, RollingCounter } from '#local/autotask-sim/rules.ts';
import type { SimCall, SimKnobs, SimUsage } from '#local/autotask-sim/types.ts';

const OTHER_CODES = ['OTHER-RMM', 'OTHER-BILLING', 'OTHER-REPORTING'];
const OTHER_REQUESTS: ReadonlyArray<readonly [method: string, path: string, endpoint: string]> = [
  ['POST', '/atservicesrest/v1.0/Tickets/query', 'Tickets'],
  ['GET', '/atservicesrest/v1.0/Companies/1', 'Companies'],
  ['POST', '/atservicesrest/v1.0/ConfigurationItems/query', 'ConfigurationItems'],
  ['PATCH', '/atservicesrest/v1.0/Tickets', 'Tickets'],
  ['POST', '/atservicesrest/v1.0/Contacts/query', 'Contacts'],
];

export class CallLog {
  private log: SimCall[] = [];
  private zoneLog: SimCall[] = [];
  private seq = 0;
  private readonly counter = new RollingCounter();
  private otherSeq = 0;

  /** `settings` reads the simulator's current knobs (replaced on every change). */
  constructor(private readonly settings: () => SimKnobs) {}

  /** The next sequence number (API calls and zone look-ups share it). */
  nextSeq(): number {
    return ++this.seq;
  }

  record(entry: SimCall): void {
    this.log.push(entry);
  }

  recordZoneLookup(entry: SimCall): void {
    this.zoneLog.push(entry);
  }

  /** Counts a request received at `at` in the rolling window. */
  count(at: number): void {
    this.counter.add(at);
  }

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
      limit: this.settings().limit,
      windowSeconds: this.settings().windowSeconds,
      windowTotal: this.windowTotal(now),
      ours,
      others,
      maxRollingWindow: this.maxInRollingWindow({ source: 'all' }),
      maxRollingWindowOurs: this.maxInRollingWindow({ source: 'ours' }),
      throttled429,
      threadLimited,
    };
  }

  addOtherCalls(n: number): void {
    const windowMs = this.windowMs();
    for (let i = 0; i < n; i++) {
      const at = Date.now();
      const k = this.otherSeq++;
      const [method, path, endpoint] = OTHER_REQUESTS[k % OTHER_REQUESTS.length]!;
      const before = this.counter.total(at, windowMs);
      const refused = before >= this.settings().limit;
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

  clear(): void {
    // seq keeps growing, so a consumer polling with sinceSeq never sees a number twice.
    this.log = [];
    this.zoneLog = [];
    this.counter.clear();
  }

  private windowMs(): number {
    return this.settings().windowSeconds * 1000;
  }
}
