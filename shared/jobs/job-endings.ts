/**
 * How a job that did not get its answer leaves the worker: back to the delay queue until its room
 * opens (no attempt spent), retried with backoff, answered with a failed result, or dead-lettered.
 */
import type { ReserveOutcome } from '#shared/budget/store.ts';
import { blockedAfter429, geometry } from '#shared/budget/window.ts';
import type { Connection } from '#shared/connections/model.ts';
import { type AutotaskError, errorMessage } from '#shared/errors.ts';
import type { JobMeta } from '#shared/jobs/queue.ts';
import type { DeadLetterReason, JobResult } from '#shared/jobs/result.ts';
import type { JobOutcome, RunJobDeps } from '#shared/jobs/run-job.ts';
import type { Job } from '#shared/jobs/schema.ts';
import type { Logger } from '#shared/observability/logger.ts';
import { emitMetric } from '#shared/observability/metrics.ts';

const MAX_HOP_SECONDS = 900;

/** Spreads waiting jobs over the bucket in which room opens, critical first, then normal, then bulk. */
const jitterFor = (
  priority: Job['priority'],
  bucketMs: number,
  tailMs: number,
  random: () => number,
): number => {
  const usable = Math.max(0, bucketMs - tailMs);
  const band = { critical: 0, normal: 1, bulk: 2 }[priority];
  return Math.floor(usable * ((band + random()) / 3));
};

export const wait = async (
  deps: RunJobDeps,
  body: string,
  meta: JobMeta,
  connection: Connection,
  job: Job,
  grant: Extract<ReserveOutcome, { granted: false }>,
  log: Logger,
): Promise<JobOutcome> => {
  const now = (deps.now ?? Date.now)();
  const random = deps.random ?? Math.random;
  const g = geometry(connection.windowSeconds);
  if (grant.reason === 'asleep' && deps.queue.park) {
    // handed back by the wake itself (shared/jobs/parking.ts): no look-again period, no polling
    const { promisedBucket: _none, notBefore: _stale, ...kept } = meta;
    await deps.queue.park(body, { ...kept, throttles: meta.throttles + 1 }, connection.connectionId);
    emitMetric('JobsThrottled', 1, connection.connectionId);
    log.info('job parked until the connection wakes', { reason: grant.reason });
    return 'waiting';
  }
  const at =
    grant.reason === 'thread-slot'
      ? grant.retryAt + Math.floor(random() * 1000)
      : grant.reason === 'asleep'
        ? grant.retryAt + Math.floor(random() * 10_000)
        : grant.retryAt + jitterFor(job.priority, g.bucketMs, g.tailMs, random);
  const { promisedBucket: _released, ...rest } = meta;
  const next: JobMeta = {
    ...rest,
    throttles: meta.throttles + 1,
    ...(grant.reason === 'budget' ? { promisedBucket: grant.retryBucket } : {}),
  };
  await waitLonger(deps, body, next, at);
  emitMetric('JobsThrottled', 1, connection.connectionId);
  log.info('job waiting for budget', {
    reason: grant.reason,
    retryAt: new Date(at).toISOString(),
    waitMs: at - now,
  });
  return 'waiting';
};

/**
 * Sends the job to the delay queue to come back at `at`: SQS delays the whole seconds (at most 900
 * per hop, longer waits chain hop by hop) less the event source's batching window, and the worker
 * that receives it sleeps the rest, so the window does not make it late.
 */
export const waitLonger = async (
  deps: RunJobDeps,
  body: string,
  meta: JobMeta,
  at: number,
): Promise<void> => {
  const now = (deps.now ?? Date.now)();
  const seconds = Math.max(0, Math.floor((at - now - (deps.batchingWindowMs ?? 0)) / 1000));
  const { notBefore: _drop, ...rest } = meta;
  const next: JobMeta = at > now ? { ...rest, notBefore: at } : rest;
  await deps.queue.delay(body, Math.min(seconds, MAX_HOP_SECONDS), next);
};

export const retryLater = async (
  deps: RunJobDeps,
  body: string,
  meta: JobMeta,
  err: unknown,
  log: Logger,
): Promise<JobOutcome> => {
  const attempts = meta.attempts + 1;
  if (attempts >= (deps.maxAttempts ?? 5)) {
    return deadLetter(
      deps,
      body,
      'autotask-unavailable',
      `gave up after ${attempts} attempts: ${errorMessage(err)}`,
      meta,
      log,
    );
  }
  const random = deps.random ?? Math.random;
  const backoffMs = Math.min(300_000, 2_000 * 2 ** (attempts - 1)) * (0.5 + random());
  await deps.queue.delay(body, backoffMs / 1000, { ...meta, attempts });
  log.warn('job will be retried', { attempts, backoffMs: Math.round(backoffMs), error: errorMessage(err) });
  return 'retrying';
};

export interface FailureContext {
  body: string;
  meta: JobMeta;
  job: Job;
  connection: Connection;
  calls: number;
  err: AutotaskError;
  log: Logger;
}

export const handleAutotaskError = async (deps: RunJobDeps, ctx: FailureContext): Promise<JobOutcome> => {
  const { err, job, connection, meta, body, log } = ctx;
  const now = (deps.now ?? Date.now)();
  const write = isWrite(job);
  // 5xx, timeout or reset: Autotask may have applied the write before its answer was lost, so only
  // a write that is safe to apply twice is sent again (see `mayResend`).
  const unknownOutcome = write && err.retryable && !mayResend(job);
  const waitUntil = (grant: Extract<ReserveOutcome, { granted: false }>) =>
    wait(deps, body, meta, connection, job, grant, log);
  // Autotask refused the write without applying it (429, thread limit), or it may be sent again
  // (an idempotent method, or the job opted in): release the claim so the next attempt can take it.
  // Only this attempt held it (the claim is a conditional put), so no two attempts run at once.
  if (
    write &&
    !unknownOutcome &&
    (err.retryable || err.kind === 'throttled' || err.kind === 'thread-limit')
  ) {
    await deps.executions?.abandon(connection.connectionId, job.jobId);
  }
  if (err.kind === 'throttled') {
    // Autotask says the window is full whatever we counted: nobody reserves until the oldest bucket ages out.
    const until = blockedAfter429(connection.windowSeconds, now);
    await deps.budget.block(connection.connectionId, until);
    await deps
      .onThrottled429?.(connection)
      .catch((e) => log.error('could not put the connection to sleep', { error: e }));
    emitMetric('Throttled429', 1, connection.connectionId);
    log.warn('Autotask refused a request: threshold exceeded', { status: err.status, errors: err.errors });
    return waitUntil({ granted: false, reason: 'blocked', retryAt: until, retryBucket: 0, used: 0 });
  }
  if (err.kind === 'thread-limit') {
    emitMetric('ThreadLimited', 1, connection.connectionId);
    return waitUntil({ granted: false, reason: 'thread-slot', retryAt: now + 1000 });
  }
  if (err.retryable && !unknownOutcome) return retryLater(deps, body, meta, err, log);
  const result: JobResult = {
    jobId: job.jobId,
    connectionId: job.connectionId,
    status: 'failed',
    httpStatus: err.status ?? null,
    error: {
      kind: err.kind,
      message: unknownOutcome
        ? `${err.message}; the write may or may not have been applied, so it was not retried (a POST is sent once unless the job sets retryUnsafeWrites)`
        : err.message,
      ...(err.errors.length ? { errors: err.errors } : {}),
    },
    calls: ctx.calls,
    attempts: meta.attempts + 1,
    waitedMs: Math.max(0, now - meta.firstSeenAt),
    completedAt: new Date(now).toISOString(),
  };
  if (write) await deps.executions?.complete(connection.connectionId, job.jobId, result);
  if (!(await publish(deps, body, meta, job, result, log))) return 'dead-lettered';
  emitMetric('JobsFailed', 1, connection.connectionId);
  log.info('job failed', { httpStatus: result.httpStatus, error: result.error });
  return 'failed';
};

/**
 * Publishes a job's result to its `replyTo` or the results queue. Autotask has answered by now, so a
 * result that cannot be published is never a reason to call again: the job is dead-lettered
 * (`result-undeliverable`) with the result attached, and this returns false. Throws only when the
 * dead-letter queue refuses too: the message then stays on its queue (a redelivered write finds its
 * recorded result and only publishes again).
 */
export const publish = async (
  deps: RunJobDeps,
  body: string,
  meta: JobMeta,
  job: Job,
  result: JobResult,
  log: Logger,
): Promise<boolean> => {
  try {
    await deps.queue.publishResult(result, job.replyTo);
    return true;
  } catch (err) {
    const where = job.replyTo ?? 'the results queue';
    const message = `the result (${result.status}, HTTP ${result.httpStatus}) could not be published to ${where}: ${errorMessage(err)}`;
    log.error('result undeliverable: dead-lettering the job with its result', { error: err });
    await deps.queue.deadLetter(body, 'result-undeliverable', message, meta, result);
    emitMetric('JobsDeadLettered', 1);
    return false;
  }
};

/**
 * Whether a job may be sent again after a 5xx, a timeout or a reset connection, when Autotask may
 * have applied it: reads, and PATCH, PUT and DELETE (applying them twice leaves the same state)
 * may; a POST creates something each time it is applied, so only with the job's `retryUnsafeWrites`.
 */
export const mayResend = (job: Job): boolean =>
  !isWrite(job) || job.request.method !== 'POST' || job.retryUnsafeWrites === true;

/** Writes change Autotask; POST queries (`/query`, `/query/count`) only read. */
export const isWrite = (job: Job): boolean =>
  job.request.method !== 'GET' && !/\/query(\/count)?$/i.test(job.request.path);

export const deadLetter = async (
  deps: RunJobDeps,
  body: string,
  reason: DeadLetterReason,
  message: string,
  meta: JobMeta,
  log: Logger = deps.log,
): Promise<JobOutcome> => {
  await deps.queue.deadLetter(body, reason, message, meta);
  emitMetric('JobsDeadLettered', 1);
  log.warn('job dead-lettered', { reason, error: message });
  return 'dead-lettered';
};
