import type { AutotaskApi, AutotaskCall, AutotaskReply } from '#shared/autotask/types.ts';
import type { BudgetStore } from '#shared/budget/store.ts';
import type { CachedConnections } from '#shared/connections/cached-store.ts';
import type { CredentialSource } from '#shared/connections/credentials.ts';
import { type Connection, ceilingFor } from '#shared/connections/model.ts';
import { AutotaskError, ConfigError, errorMessage, ValidationError } from '#shared/errors.ts';
import type { ExecutionStore } from '#shared/jobs/executions.ts';
import {
  deadLetter,
  handleAutotaskError,
  isWrite,
  publish,
  retryLater,
  wait,
  waitLonger,
} from '#shared/jobs/job-endings.ts';
import type { JobMeta, JobQueue } from '#shared/jobs/queue.ts';
import type { DeadLetterReason, JobResult } from '#shared/jobs/result.ts';
import { type Job, parseJob, replyRefusal } from '#shared/jobs/schema.ts';
import {
  defaultSleep,
  keepLease,
  reserveWithPatience,
  type WorkerSession,
} from '#shared/jobs/worker-session.ts';
import type { Logger } from '#shared/observability/logger.ts';
import { emitMetric } from '#shared/observability/metrics.ts';

export interface RunJobDeps {
  connections: Pick<CachedConnections, 'get' | 'zoneFor'>;
  credentials: CredentialSource;
  budget: BudgetStore;
  autotask: AutotaskApi;
  queue: JobQueue;
  /** Remembers writes so a redelivered job never writes twice (omit to disable, e.g. in benchmarks of reads). */
  executions?: ExecutionStore;
  matchPath: (method: string, path: string) => { template: string; endpoint: string } | { error: string };
  /** The queues a job may name as `replyTo` (REPLY_QUEUE_URLS); omitted: none, a job with `replyTo` is refused. */
  replyQueueUrls?: readonly string[];
  log: Logger;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Autotask request timeout. */
  callTimeoutMs?: number;
  /** Executions on Autotask/network faults before the job is dead-lettered. */
  maxAttempts?: number;
  /**
   * The event source's batching window (ms): a job sent to wait leaves the delay queue that much
   * before its time (Lambda may gather it that long) and the worker holds it until then.
   */
  batchingWindowMs?: number;
  /** Autotask answered 429 / "threshold exceeded": the connection's state machine puts it to sleep. */
  onThrottled429?: (connection: Connection) => Promise<void>;
}

export interface IncomingJob {
  body: string;
  meta: JobMeta;
}

export type JobOutcome = 'succeeded' | 'failed' | 'waiting' | 'retrying' | 'dead-lettered';

export interface RunJobOptions {
  /** The batch's last job: its thread is taken on a short lease instead of being released afterwards. */
  lastInBatch?: boolean;
}

/**
 * A job received this long before its `notBefore` is held here (at most the second SQS's whole-second
 * delay rounded off); the batching window it was sent early for is added where this is used.
 */
const MAX_HOLD_MS = 1_000;

/**
 * Runs one job message to exactly one end:
 * 1. validate the body and its `replyTo` (dead-letter on failure), honour `notBefore` and `expiresAt`;
 * 2. load the connection and check the path against the Autotask API (dead-letter on failure);
 * 3. for each request (query pages too): reserve budget and a thread slot, then call Autotask;
 * 4. no budget -> back to the delay queue until the window has room (attempts untouched);
 *    Autotask 5xx/timeouts/resets -> delay queue with backoff and attempts + 1, dead-letter when
 *    exhausted (a POST write is sent once: it fails with "outcome unknown" unless retryUnsafeWrites);
 *    Autotask 4xx / `errors` -> a failed result;
 * 5. publish the result to `replyTo` or the results queue; a result that cannot be published is
 *    dead-lettered with the job (`result-undeliverable`), never a reason to call Autotask again.
 */
export const runJob = async (
  message: IncomingJob,
  session: WorkerSession,
  deps: RunJobDeps,
  options: RunJobOptions = {},
): Promise<JobOutcome> => {
  const now = deps.now ?? Date.now;
  const { meta, body } = message;
  let job: Job;
  try {
    job = parseJob(body);
  } catch (err) {
    if (err instanceof ValidationError)
      return deadLetter(deps, body, err.reason as DeadLetterReason, err.message, meta);
    throw err;
  }
  const log = deps.log.child({ jobId: job.jobId, connectionId: job.connectionId, priority: job.priority });
  // before anything is reserved or called: the result may only go to one of the stack's reply queues
  const refusal = replyRefusal(job, deps.replyQueueUrls ?? []);
  if (refusal !== undefined) return deadLetter(deps, body, 'reply-not-allowed', refusal, meta, log);

  if (meta.notBefore !== undefined && meta.notBefore - now() > MAX_HOLD_MS + (deps.batchingWindowMs ?? 0)) {
    await waitLonger(deps, body, meta, meta.notBefore);
    return 'waiting';
  }
  if (meta.notBefore !== undefined && meta.notBefore > now()) {
    // SQS delays are whole seconds, rounded down: the rest of the wait is slept here, so a job
    // returns when its room opens (plus its jitter), not up to a second later
    await (deps.sleep ?? defaultSleep)(meta.notBefore - now());
  }
  if (job.expiresAt && Date.parse(job.expiresAt) <= now()) {
    return deadLetter(
      deps,
      body,
      'expired',
      `job expired at ${job.expiresAt} before it could run`,
      meta,
      log,
    );
  }
  const connection = await deps.connections.get(job.connectionId);
  if (!connection) {
    return deadLetter(
      deps,
      body,
      'unknown-connection',
      `no connection "${job.connectionId}" is configured`,
      meta,
      log,
    );
  }
  if (!connection.enabled) {
    return deadLetter(
      deps,
      body,
      'connection-disabled',
      `connection "${job.connectionId}" is disabled`,
      meta,
      log,
    );
  }
  const route = deps.matchPath(job.request.method, job.request.path);
  if ('error' in route) return deadLetter(deps, body, 'invalid-path', route.error, meta, log);

  let zoneUrl: string;
  let credentials: Awaited<ReturnType<CredentialSource['credentialsFor']>>;
  try {
    credentials = await deps.credentials.credentialsFor(connection);
    zoneUrl = await deps.connections.zoneFor(connection, () =>
      deps.autotask.discoverZone(connection.apiUser),
    );
  } catch (err) {
    if (err instanceof ConfigError || (err instanceof AutotaskError && err.kind === 'client')) {
      return deadLetter(deps, body, 'configuration-error', errorMessage(err), meta, log);
    }
    return retryLater(deps, body, meta, err, log);
  }

  const ceiling = ceilingFor(connection, job.priority);
  const timeoutMs = deps.callTimeoutMs ?? 20_000;
  const leaseMs = timeoutMs + 5_000;
  // the batch's last job: a short lease that runs out by itself instead of a release write
  const shortLease = options.lastInBatch === true && deps.budget.renew !== undefined;
  if (session.lease && session.lease.connectionId !== connection.connectionId)
    await session.releaseAll(deps.budget);
  let call: AutotaskCall = {
    method: job.request.method,
    path: job.request.path,
    ...(job.request.query
      ? { query: Object.fromEntries(Object.entries(job.request.query).map(([k, v]) => [k, String(v)])) }
      : {}),
    ...(job.request.body !== undefined ? { body: job.request.body } : {}),
  };
  let calls = 0;
  let reply: AutotaskReply | undefined;
  let items: unknown[] | undefined;
  let truncated = false;

  for (let page = 1; page <= job.maxPages; page++) {
    const shortLeaseMs = session.shortLeaseMs();
    const grant = await reserveWithPatience(
      deps,
      connection,
      job.priority,
      ceiling,
      route.endpoint,
      session,
      shortLease ? shortLeaseMs : leaseMs,
      page === 1 ? meta.promisedBucket : undefined,
    );
    if (!grant.granted) {
      if (page === 1) return wait(deps, body, meta, connection, job, grant, log);
      truncated = true; // the window filled up mid-query: hand back what we have and where to go on
      break;
    }
    if (grant.lease) {
      session.lease = grant.lease;
      session.endpoint = `${connection.connectionId}/${route.endpoint}`;
    }
    const keeper =
      shortLease && grant.lease ? keepLease(deps, session, grant.lease, shortLeaseMs, leaseMs) : undefined;
    emitMetric('BudgetLeft', grant.left, connection.connectionId);
    calls++;
    if (page === 1 && isWrite(job) && deps.executions) {
      const claim = await deps.executions.claim(connection.connectionId, job.jobId).catch(async (err) => {
        await keeper?.stop();
        throw err;
      });
      if (claim.state !== 'claimed') await keeper?.stop();
      if (claim.state === 'done') {
        if (!(await publish(deps, body, meta, job, claim.result, log))) return 'dead-lettered';
        log.info('job already executed: republished its recorded result', { status: claim.result.status });
        return claim.result.status;
      }
      if (claim.state === 'in-flight') {
        if (now() - claim.since < timeoutMs + 60_000) {
          // another delivery of the same message is running it right now: look again later
          await deps.queue.delay(body, 30, meta);
          return 'waiting';
        }
        const why =
          'a worker stopped after sending this write and before recording its answer; it is not sent twice';
        return deadLetter(deps, body, 'outcome-unknown', why, meta, log);
      }
    }
    emitMetric('CallsMade', 1, connection.connectionId);
    try {
      // the reservation's bucket may have ended while the worker was busy: then it counts this
      // request in the current bucket instead (Autotask counts it when it arrives)
      const moved = await deps.budget
        .beforeCall?.(connection.connectionId, connection.windowSeconds, grant.bucket, 1)
        .catch((err) => log.warn('could not move a late request to the current bucket', { error: err }));
      if (moved) log.info('request counted in a later bucket than reserved (slow moment before the call)');
      const sentAt = now();
      reply = await deps.autotask.send(zoneUrl, credentials, call, { timeoutMs });
      session.recordCall(now() - sentAt);
    } catch (err) {
      await keeper?.stop();
      if (!(err instanceof AutotaskError)) throw err;
      return handleAutotaskError(deps, { body, meta, job, connection, calls, err, log });
    }
    await keeper?.stop();
    const pageItems = (reply.body as { items?: unknown[] } | undefined)?.items;
    if (Array.isArray(pageItems)) items = [...(items ?? []), ...pageItems];
    if (!reply.nextPage) break;
    if (page === job.maxPages) {
      truncated = true;
      break;
    }
    call = reply.nextPage;
  }

  const response =
    items !== undefined && reply && typeof reply.body === 'object' && reply.body !== null
      ? { ...(reply.body as object), items }
      : reply?.body;
  const result: JobResult = {
    jobId: job.jobId,
    connectionId: job.connectionId,
    status: 'succeeded',
    httpStatus: reply?.status ?? null,
    response,
    calls,
    attempts: meta.attempts + 1,
    waitedMs: Math.max(0, now() - meta.firstSeenAt),
    completedAt: new Date(now()).toISOString(),
    ...(truncated ? { truncated: true } : {}),
    ...(truncated && (reply?.nextPage ?? call) ? { nextPage: reply?.nextPage ?? call } : {}),
  };
  if (isWrite(job)) await deps.executions?.complete(connection.connectionId, job.jobId, result);
  if (!(await publish(deps, body, meta, job, result, log))) return 'dead-lettered';
  emitMetric('JobsSucceeded', 1, job.connectionId);
  log.info('job succeeded', { calls, httpStatus: result.httpStatus, waitedMs: result.waitedMs, truncated });
  return 'succeeded';
};

/** The endpoint a job message will take a thread on (undefined if it is invalid), and whether it is critical. */
export const routeOf = (
  body: string,
  deps: Pick<RunJobDeps, 'matchPath'>,
): { endpoint: string | undefined; critical: boolean } => {
  try {
    const job = parseJob(body);
    const route = deps.matchPath(job.request.method, job.request.path);
    return {
      endpoint: 'error' in route ? undefined : `${job.connectionId}/${route.endpoint}`,
      critical: job.priority === 'critical',
    };
  } catch {
    return { endpoint: undefined, critical: false };
  }
};
