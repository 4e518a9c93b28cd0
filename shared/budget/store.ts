/**
 * The budget's contract: what workers, the sync, the state machine and the API ask of it
 * (shared/budget/dynamo-budget.ts keeps it in DynamoDB; docs/budget.md).
 */
import type { ThreadLease, ThreadRequest } from '#shared/budget/threads.ts';
import type { BudgetSnapshot } from '#shared/budget/window.ts';
import type { Priority } from '#shared/jobs/schema.ts';

export interface ReserveRequest {
  connectionId: string;
  limit: number;
  windowSeconds: number;
  /** Requests this priority may have in any rolling window. */
  ceiling: number;
  /** Requests to reserve (normally 1: one per HTTP request). */
  count: number;
  /** For the hourly usage report (default 'normal'). */
  priority?: Priority;
  /** May reserve while the connection sleeps (critical work, by default). */
  allowWhileAsleep?: boolean;
  /** The bucket this job was told to come back in: its place in the queue is released now. */
  promisedBucket?: number;
  /** Take one of the endpoint's thread slots in the same write (Autotask allows 3 in flight). */
  thread?: ThreadRequest;
}

export type ReserveOutcome =
  | { granted: true; bucket: number; left: number; lease?: ThreadLease }
  | { granted: false; reason: 'budget' | 'blocked'; retryAt: number; retryBucket: number; used: number }
  | { granted: false; reason: 'asleep'; retryAt: number }
  | {
      granted: false;
      reason: 'thread-slot';
      retryAt: number;
      /** A critical job waits for this endpoint's threads: a worker holding one gives it up now. */
      yieldToCritical?: boolean;
    };

export interface Usage {
  total: number;
  others: number;
  ours: number;
  bucket: number;
}

export interface BudgetStore {
  reserve(request: ReserveRequest): Promise<ReserveOutcome>;
  release(lease: ThreadLease): Promise<void>;
  /**
   * Called right before a granted request goes out: if the bucket it was reserved in has ended
   * meanwhile (a slow moment between the reservation and the call), its count moves to the current
   * bucket, so it ages out no sooner than Autotask's own count of it. True when it moved (one write),
   * false when the bucket has not ended; throws if the item kept changing under it.
   */
  beforeCall?(connectionId: string, windowSeconds: number, bucket: number, count: number): Promise<boolean>;
  /** Extends a held thread lease to `leaseMs` from now; undefined if it had already expired. */
  renew?(lease: ThreadLease, leaseMs: number): Promise<ThreadLease | undefined>;
  /**
   * The governor's own ThresholdInformation read: granted while jobs and system reads together stay
   * under `ceiling` (the critical one), counted in `s<bucket>` so jobs' ceilings are not reduced.
   */
  reserveSystem(connectionId: string, windowSeconds: number, ceiling: number): Promise<boolean>;
  /** Other integrations' requests seen through ThresholdInformation, counted in the current bucket. */
  addOthers(connectionId: string, windowSeconds: number, count: number): Promise<Usage>;
  /** A 429 says the window is full whatever we counted: nobody reserves before `until`. */
  block(connectionId: string, until: number): Promise<void>;
  /**
   * Usage as DynamoDB holds it now. With `total` (the database total Autotask just gave the sync), the
   * copy the sync's own reservation returned answers instead when it already counts that many of ours:
   * a fresher read could only count more of ours, and other integrations come out 0 either way.
   */
  usage(connectionId: string, windowSeconds: number, total?: number): Promise<Usage>;
  /**
   * The sync sets the burst allowance: no ceiling reaches above `limit - burst` until `until`, when
   * that burst leaves the window (0 removes it).
   */
  holdForBursts(connectionId: string, burst: number, until: number): Promise<void>;
  /** The operators' state machine puts the connection to sleep (only critical work reserves) or wakes it. */
  setAsleep(connectionId: string, asleep: boolean): Promise<void>;
  /** A consistent read of the whole budget item (status, usage report), or this process's copy if
   *  it is at most `maxAgeMs` old (the sync's own writes just returned the item). */
  snapshot(connectionId: string, windowSeconds: number, maxAgeMs?: number): Promise<BudgetSnapshot>;
  /** Removes per-hour counters once they are archived (shared/usage/hourly.ts). */
  dropHourly(connectionId: string, attributes: string[]): Promise<void>;
  /** Writes throttle counts still held in memory if they are older than `maxAgeMs`. */
  flushCounters(maxAgeMs?: number): Promise<void>;
}
