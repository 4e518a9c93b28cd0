/**
 * The limits Autotask enforces, as pure pieces the server composes:
 * - a rolling-window counter of requests per database (the last `windowSeconds`, not the clock hour);
 * - the added latency from 50 % and 75 % of the cap;
 * - in-flight slots per integration code per endpoint (the thread limit).
 */

/** Timestamps (ms) of counted requests, kept sorted, answering "how many in (t - window, t]". */
export class RollingCounter {
  private times: number[] = [];

  add(at: number): void {
    const times = this.times;
    if (times.length === 0 || times[times.length - 1]! <= at) {
      times.push(at);
      return;
    }
    times.splice(upperBound(times, at), 0, at);
  }

  /** Counted requests with timestamp in (at - windowMs, at]. */
  total(at: number, windowMs: number): number {
    return upperBound(this.times, at) - upperBound(this.times, at - windowMs);
  }

  /** When the oldest request still in the window at `at` leaves it (ms), or null if the window is empty. */
  nextExpiry(at: number, windowMs: number): number | null {
    const first = this.times[upperBound(this.times, at - windowMs)];
    return first === undefined || first > at ? null : first + windowMs;
  }

  clear(): void {
    this.times = [];
  }
}

/** Index of the first element > value in a sorted array. */
const upperBound = (sorted: readonly number[], value: number): number => {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/**
 * The busiest rolling window: the most timestamps in any interval (t - windowMs, t]. The maximum is
 * reached with t on a timestamp, so two pointers over the sorted times find it in O(n log n).
 */
export const busiestWindow = (times: readonly number[], windowMs: number): number => {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[start]! <= sorted[end]! - windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
};

/**
 * Latency Autotask adds as the database nears its cap: about +0.5 s per request from 50 % of the
 * limit and +1 s from 75 % (n8n-nodes-autotask, Cloud Depot KB), scaled by `latencyScale`.
 * `windowTotal` includes the request being answered.
 */
export const latencyFor = (
  windowTotal: number,
  knobs: { limit: number; latencyScale: number; baseLatencyMs: number },
): number => {
  const { limit, latencyScale, baseLatencyMs } = knobs;
  let step = 0;
  if (windowTotal >= 0.75 * limit) step = 1000;
  else if (windowTotal >= 0.5 * limit) step = 500;
  return Math.max(0, baseLatencyMs) + step * Math.max(0, latencyScale);
};

/** In-flight requests per key (integration code + endpoint). */
export class ThreadSlots {
  private readonly inFlight = new Map<string, number>();

  /** Takes a slot unless `limit` are already taken; returns the release function or null. */
  tryAcquire(key: string, limit: number): (() => void) | null {
    const current = this.inFlight.get(key) ?? 0;
    if (current >= limit) return null;
    this.inFlight.set(key, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    };
  }

  inUse(key: string): number {
    return this.inFlight.get(key) ?? 0;
  }
}

export const thresholdMessage = (limit: number, windowSeconds: number): string =>
  `API request threshold of ${limit} requests per ${period(windowSeconds)} exceeded. ` +
  'Requests are refused until the number of requests in the rolling window drops below the threshold.';

export const threadLimitMessage = (threadLimit: number): string =>
  `Thread Threshold Exceeded — Itgenatr005: the limit of ${threadLimit} threads has been exceeded for this endpoint`;

const period = (windowSeconds: number): string =>
  windowSeconds % 60 === 0 ? `${windowSeconds / 60} minutes` : `${windowSeconds} seconds`;
