/**
 * How a worker gets budget and a thread slot for each request: its session (the thread it holds
 * between jobs), reservations with short waits slept inline, and the short lease of a batch's last job.
 */
import { randomUUID } from 'node:crypto';
import { threadAttr } from '#shared/budget/item.ts';
import type { BudgetStore, ReserveOutcome } from '#shared/budget/store.ts';
import type { ThreadLease } from '#shared/budget/threads.ts';
import type { Connection } from '#shared/connections/model.ts';
import type { RunJobDeps } from '#shared/jobs/run-job.ts';
import type { Job } from '#shared/jobs/schema.ts';

/**
 * A worker runs one Autotask request at a time and keeps its thread slot between requests: the
 * next reservation renews it (same endpoint) or gives it back (another endpoint) in the same write.
 * Whatever is still held when the batch ends is released.
 */
export class WorkerSession {
  /** Names this worker's entry in an endpoint's in-flight map. */
  readonly id = randomUUID().slice(0, 13);
  lease: ThreadLease | undefined;
  /** `<connection>/<endpoint>` of the thread held (as `endpointOf` names it). */
  endpoint: string | undefined;
  /** Moving average of this batch's Autotask request durations (ms), for the last job's short lease. */
  private typicalCallMs: number | undefined;
  recordCall(ms: number): void {
    this.typicalCallMs = this.typicalCallMs === undefined ? ms : 0.7 * this.typicalCallMs + 0.3 * ms;
  }
  /**
   * The lease of the batch's last job: about three typical requests, so the request usually ends
   * before the halfway renewal and the slot sits idle as little as possible after it (other workers
   * wait for it); the most until the batch has timed a request.
   */
  shortLeaseMs(): number {
    if (this.typicalCallMs === undefined) return SHORT_LEASE_MAX_MS;
    return Math.round(Math.min(SHORT_LEASE_MAX_MS, Math.max(SHORT_LEASE_MIN_MS, 3 * this.typicalCallMs)));
  }
  async releaseAll(budget: BudgetStore): Promise<void> {
    const held = this.lease;
    this.lease = undefined;
    if (held) await budget.release(held);
  }
}

const THREAD_SLOTS = 3;
/** Bounds of the lease taken by a batch's last job (renewed halfway if its request is still running). */
const SHORT_LEASE_MIN_MS = 300;
const SHORT_LEASE_MAX_MS = 1_000;
/** Waits this short are slept inside the invocation instead of a trip through the delay queue. */
const INLINE_WAIT_MS = 3_000;
export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Short waits (a thread slot about to free, the bucket's quiet tail) are cheaper slept than queued. */
export const reserveWithPatience = async (
  deps: RunJobDeps,
  connection: Connection,
  priority: Job['priority'],
  ceiling: number,
  endpoint: string,
  session: WorkerSession,
  leaseMs: number,
  promisedBucket: number | undefined,
): Promise<ReserveOutcome> => {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const deadline = now() + INLINE_WAIT_MS;
  // the bucket this job holds a place in: given back by its next reservation
  let promise = promisedBucket;
  for (let round = 0; ; round++) {
    const outcome = await deps.budget.reserve({
      connectionId: connection.connectionId,
      limit: connection.limit,
      windowSeconds: connection.windowSeconds,
      ceiling,
      count: 1,
      priority,
      allowWhileAsleep: priority === 'critical' && connection.criticalWhileAsleep,
      ...(promise !== undefined ? { promisedBucket: promise } : {}),
      thread: {
        endpoint,
        slots: THREAD_SLOTS,
        leaseMs,
        holder: session.id,
        ...(session.lease ? { held: session.lease } : {}),
      },
    });
    if (outcome.granted || outcome.retryAt > deadline) return outcome;
    // a job sent to wait for a bucket holds a place in it (it spreads the others' return) until it
    // asks again: also when it waits here rather than in the delay queue
    promise = outcome.reason === 'budget' ? outcome.retryBucket : undefined;
    if (
      outcome.reason === 'thread-slot' &&
      outcome.yieldToCritical &&
      session.lease?.attribute === threadAttr(endpoint)
    ) {
      // a critical job waits for a thread: the one this worker keeps between jobs goes to it now
      await session.releaseAll(deps.budget);
    } else if (outcome.reason === 'thread-slot' && session.lease && round === 3) {
      // still waiting for this endpoint: do not keep another endpoint's thread meanwhile
      await session.releaseAll(deps.budget);
    }
    // all threads busy: look again with growing pauses (the latest copy of the budget item is
    // trusted for a second, so most looks cost no DynamoDB request)
    const pause = outcome.reason === 'thread-slot' ? 50 * 2 ** Math.min(round, 4) * (0.5 + random()) : 0;
    await sleep(Math.max(10, pause || outcome.retryAt - now()));
  }
};

/**
 * The last job of a batch holds its thread on a short lease, so the batch ends without a release
 * write: the entry expires by itself soon after the request. A request still running halfway
 * through the short lease renews it to the full lease (then it is released when the batch ends).
 */
export const keepLease = (
  deps: RunJobDeps,
  session: WorkerSession,
  lease: ThreadLease,
  shortLeaseMs: number,
  fullLeaseMs: number,
) => {
  const now = deps.now ?? Date.now;
  let renewal: Promise<void> | undefined;
  let stopped = false;
  const timer = setTimeout(
    () => {
      if (stopped || !deps.budget.renew) return;
      renewal = deps.budget
        .renew(lease, fullLeaseMs)
        .then((renewed) => {
          if (renewed) session.lease = renewed;
          else deps.log.warn('thread lease had expired before its renewal', { endpoint: lease.attribute });
        })
        .catch((err) => deps.log.warn('could not renew the thread lease', { error: err }));
    },
    Math.max(0, lease.expiresAt - shortLeaseMs / 2 - now()),
  );
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      if (renewal) await renewal;
      else if (session.lease === lease) session.lease = undefined; // expires by itself: nothing to release
    },
  };
};
