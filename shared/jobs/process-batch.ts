import { readMeta } from '#shared/jobs/queue.ts';
import { type JobOutcome, type RunJobDeps, routeOf, runJob } from '#shared/jobs/run-job.ts';
import { WorkerSession } from '#shared/jobs/worker-session.ts';

export interface BatchMessage {
  messageId: string;
  body: string;
  attributes: Record<string, { stringValue?: string } | undefined>;
  sentTimestamp: number;
}

interface Pending {
  due: number;
  endpoint: string | undefined;
  critical: boolean;
}

/**
 * The index of the job to run next (see processBatch): among the jobs due, critical ones first; of
 * those, one on the endpoint whose thread the worker holds, else any of them at random.
 */
const nextJob = (pending: Pending[], session: WorkerSession, deps: RunJobDeps): number => {
  const now = (deps.now ?? Date.now)();
  let due = 0;
  while (due < pending.length && (pending[due] as Pending).due <= now) due++;
  const candidates = Array.from({ length: due }, (_, i) => i);
  const critical = candidates.filter((i) => (pending[i] as Pending).critical);
  const pool = critical.length > 0 ? critical : candidates;
  if (session.lease) {
    const same = pool.find((i) => (pending[i] as Pending).endpoint === session.endpoint);
    if (same !== undefined) return same;
  }
  if (pool.length === 0) return 0;
  return pool[Math.floor((deps.random ?? Math.random)() * pool.length)] as number;
};

/** Time one job may need at most: the Autotask timeout plus bookkeeping. */
const RESERVE_MS = 25_000;

/**
 * Runs a batch's jobs one after another (a worker holds at most one Autotask request in flight, so
 * thread slots are shared fairly between workers) and returns one settled result per message, in
 * order, for the partial batch response. When the invocation runs short of time the remaining jobs
 * are handed to the delay queue untouched instead of timing out and waiting for the visibility
 * timeout.
 */
export const processBatch = async (
  messages: BatchMessage[],
  deps: RunJobDeps,
  remainingMs: () => number,
): Promise<PromiseSettledResult<JobOutcome>[]> => {
  const session = new WorkerSession();
  const settled: PromiseSettledResult<JobOutcome>[] = new Array(messages.length);
  try {
    // Jobs run in the order they are due (a job back from the delay queue may be held until its
    // `notBefore`). Among those already due, critical jobs go first, and then one on the endpoint
    // whose thread the worker holds: renewing a thread the worker holds never loses a race, taking
    // another endpoint's may.
    const pending = messages
      .map((message, index) => {
        const meta = readMeta(message.attributes, message.sentTimestamp);
        return { message, index, meta, due: meta.notBefore ?? 0, ...routeOf(message.body, deps) };
      })
      .sort((a, b) => a.due - b.due);
    while (pending.length > 0) {
      const [{ message, index, meta }] = pending.splice(nextJob(pending, session, deps), 1) as [
        (typeof pending)[number],
      ];
      try {
        if (remainingMs() < RESERVE_MS) {
          await deps.queue.delay(message.body, 0, meta);
          settled[index] = { status: 'fulfilled', value: 'waiting' };
          continue;
        }
        settled[index] = {
          status: 'fulfilled',
          value: await runJob({ body: message.body, meta }, session, deps, {
            lastInBatch: pending.length === 0,
          }),
        };
      } catch (reason) {
        deps.log.error('job could not be processed; SQS will deliver it again', {
          messageId: message.messageId,
          error: reason,
        });
        settled[index] = { status: 'rejected', reason };
      }
    }
  } finally {
    await deps.budget
      .flushCounters()
      .catch((err) => deps.log.warn('could not write throttle counters', { error: err }));
    await session
      .releaseAll(deps.budget)
      .catch((err) => deps.log.warn('could not release thread slots', { error: err }));
  }
  return settled;
};
