/**
 * Rolling-window arithmetic (the budget model in docs/budget.md).
 *
 * Time is cut into 60 buckets per window. Reservations made in bucket c are checked against buckets
 * c-60..c: 61 buckets, one more than the window, so the partial oldest bucket is counted whole and
 * no rolling window Autotask can look at ever holds more than we allowed.
 *
 * The budget item keeps a running total `cum` of every request ever reserved (ours and other
 * integrations') and, per bucket, `ends[b]` = the value of `cum` after the last reservation in
 * bucket b. Requests in the window at bucket c are then `cum - prefix(c - 61)`, where prefix(k) is
 * the last `ends` value at or before bucket k. Closed buckets never change, so the bound a
 * reservation needs is known from a cached copy of the item and the reservation is one conditional
 * write: `cum <= ceiling - n + prefix(c - 61)`.
 */
export const BUCKETS_PER_WINDOW = 60;
/** Buckets counted: the 60 of the window plus the current partial one. */
export const SPAN = BUCKETS_PER_WINDOW + 1;

export interface Geometry {
  windowMs: number;
  bucketMs: number;
  /** No reservations in the last `tailMs` of a bucket: a request reserved just before a bucket ends
   *  could reach Autotask after it ended, and the window must still contain it. */
  tailMs: number;
}

export const geometry = (windowSeconds: number): Geometry => {
  const windowMs = windowSeconds * 1000;
  const bucketMs = windowMs / BUCKETS_PER_WINDOW;
  return { windowMs, bucketMs, tailMs: Math.min(2000, Math.max(50, bucketMs / 10)) };
};

export const bucketOf = (g: Geometry, at: number): number =>
  Math.floor((at * BUCKETS_PER_WINDOW) / g.windowMs);
export const bucketStart = (g: Geometry, bucket: number): number =>
  Math.ceil((bucket * g.windowMs) / BUCKETS_PER_WINDOW);
export const inTail = (g: Geometry, at: number): boolean =>
  at >= bucketStart(g, bucketOf(g, at) + 1) - g.tailMs;
/** After a 429 at `at` the window counts as full until the current bucket ends (its oldest requests age out). */
export const blockedAfter429 = (windowSeconds: number, at: number): number => {
  const g = geometry(windowSeconds);
  return bucketStart(g, bucketOf(g, at) + 1);
};

/** The decoded budget item. */
export interface BudgetSnapshot {
  cum: number;
  /** `cum` after the last reservation in each bucket (only buckets that had one). */
  ends: Map<number, number>;
  /** Other integrations' requests added by the ThresholdInformation sync, per bucket. */
  others: Map<number, number>;
  /** The governor's own ThresholdInformation reads per bucket: counted apart from `cum` so that the
   *  2 % of the cap they may use comes out of the critical headroom, not out of the jobs' ceilings. */
  system: Map<number, number>;
  /** `ends` value standing in for pruned old buckets. */
  pre: number;
  /** Requests in flight per endpoint: attribute `t_<endpoint>` -> holder -> lease expiry (ms). */
  threads: Map<string, Map<string, number>>;
  /** A 429 from Autotask blocks every reservation until then (ms). */
  blockedUntil: number;
  /** The connection sleeps (operators' state machine): only critical work may reserve. */
  asleep: boolean;
  /**
   * The largest rise of other integrations' usage between two reads within the last window (set by
   * the sync): every ceiling stays at least this far below the cap, so a repeat fits under it.
   */
  burst: number;
  /** When the burst behind `burst` leaves the window (ms): from then on it no longer lowers a ceiling. */
  burstUntil: number;
  /** `w_<endpoint>` -> until when a critical job waits for one of that endpoint's threads (ms). */
  criticalWants: Map<string, number>;
  /** Per clock hour counters for the usage report: `h<hour>_<priority>` calls, `t<hour>` jobs
   *  throttled, `x<hour>` 429s received. Hour = floor(ms / 3,600,000). */
  hourly: Map<string, number>;
  /** Bumped by every write that changes room or threads: of two copies, the higher is the newer. */
  version: number;
  /** When this copy was read (ms) and in which bucket. */
  readAt: number;
  readBucket: number;
}

export const emptySnapshot = (readAt: number, readBucket: number): BudgetSnapshot => ({
  cum: 0,
  ends: new Map(),
  others: new Map(),
  system: new Map(),
  pre: 0,
  threads: new Map(),
  blockedUntil: 0,
  asleep: false,
  burst: 0,
  burstUntil: 0,
  criticalWants: new Map(),
  hourly: new Map(),
  version: 0,
  readAt,
  readBucket,
});

/** The running total before bucket k+1: the last `ends` value at or before k. */
export const prefix = (s: BudgetSnapshot, k: number): number => {
  let best = -1;
  let value = s.pre;
  for (const [bucket, end] of s.ends) {
    if (bucket <= k && bucket > best) {
      best = bucket;
      value = Math.max(value, end);
    }
  }
  return value;
};

/** Requests (ours + others) counted in the window of bucket c. */
export const usedAt = (s: BudgetSnapshot, c: number): number => s.cum - prefix(s, c - SPAN);

const inWindow = (counts: Map<number, number>, c: number): number => {
  let total = 0;
  for (const [bucket, count] of counts) if (bucket > c - SPAN && bucket <= c) total += count;
  return total;
};
export const othersAt = (s: BudgetSnapshot, c: number): number => inWindow(s.others, c);
export const systemAt = (s: BudgetSnapshot, c: number): number => inWindow(s.system, c);

/**
 * A cached copy can only be trusted to say "no room" if it saw bucket c-61 closed: later reads can
 * only show more usage, except for buckets that were still open when the copy was read.
 */
export const trustworthyAt = (s: BudgetSnapshot, c: number): boolean => s.readBucket > c - SPAN;

/**
 * The first bucket after `c` in which `need` more requests fit under `ceiling`, assuming nothing else
 * is reserved meanwhile except what `promised` says: requests already told to come back in a given
 * bucket (jobs this process sent to wait earlier), which will fill that bucket's window in turn.
 * Room only changes where something ages out or a promise falls due, so only those buckets are tried.
 * Returns undefined when `need` can never fit.
 */
export const nextRoom = (
  s: BudgetSnapshot,
  c: number,
  need: number,
  ceiling: number,
  promised: ReadonlyMap<number, number> = new Map(),
): number | undefined => {
  if (need > ceiling) return undefined;
  const changes = new Set<number>([c + 1]);
  for (const b of s.ends.keys()) if (b + SPAN > c) changes.add(b + SPAN);
  for (const p of promised.keys()) {
    if (p > c) changes.add(p);
    if (p + SPAN > c) changes.add(p + SPAN);
  }
  const room = (b: number): number => {
    let used = s.cum - prefix(s, b - SPAN);
    for (const [p, count] of promised) if (p > b - SPAN && p <= b) used += count;
    return ceiling - used;
  };
  for (const b of [...changes].sort((x, y) => x - y)) if (room(b) >= need) return b;
  return undefined;
};
