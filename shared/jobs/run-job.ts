import { randomUUID } from 'node:crypto';
import type { AutotaskApi, AutotaskCall, AutotaskReply } from '#shared/autotask/types.ts';
import type { BudgetStore, ReserveOutcome } from '#shared/budget/store.ts';
import type { ThreadLease } from '#shared/budget/threads.ts';
import type { CachedConnections } from '#shared/connections/cached-store.ts';
import type { CredentialSource } from '#shared/connections/credentials.ts';
import { type Connection, ceilingFor } from '#shared/connections/model.ts';
import { AutotaskError, ConfigError, errorMessage, ValidationError } from '#shared/errors.ts';
import type { ExecutionStore } from '#shared/jobs/executions.ts';
import {
  deadLetter,
  handleAutotaskError,
  isWrite,
  retryLater,
  wait,
  waitLonger,
} from '#shared/jobs/job-endings.ts';
import type { JobMeta, JobQueue } from '#shared/jobs/queue.ts';
import type { DeadLetterReason, JobResult } from '#shared/jobs/result.ts';
import { type Job, parseJob } from '#shared/jobs/schema.ts';
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
  async releaseAll(budget: BudgetStore): Promise<void> {
    const held = this.lease;
    this.lease = undefined;
    if (held) await budget.release(held);
  }
}

const THREAD_SLOTS = 3;
/** Lease of the thread taken by a batch's last job (renewed halfway if its request is still running). */
const SHORT_LEASE_MS = 1_000;
/** Waits this short are slept inside the invocation instead of a trip through the delay queue. */
const INLINE_WAIT_MS = 3_000;
/**
 * A job received this long before its `notBefore` is held here (at most the second SQS's whole-second
 * delay rounded off); the batching window it was sent early for is added where this is used.
 */
const MAX_HOLD_MS = 1_000;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs one job message to exactly one end:
 * 1. validate the body (dead-letter on failure), honour `notBefore` and `expiresAt`;
 * 2. load the connection and check the path against the Autotask API (dead-letter on failure);
 * 3. for each request (query pages too): reserve budget and a thread slot, then call Autotask;
 * 4. no budget -> back to the delay queue until the window has room (attempts untouched);
 *    Autotask 5xx/timeouts -> delay queue with backoff and attempts + 1, dead-letter when exhausted;
 *    Autotask 4xx / `errors` -> a failed result;
 * 5. publish the result to `replyTo` or the results queue.
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
    const grant = await reserveWithPatience(
      deps,
      connection,
      job.priority,
      ceiling,
      route.endpoint,
      session,
      shortLease ? SHORT_LEASE_MS : leaseMs,
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
    const keeper = shortLease && grant.lease ? keepLease(deps, session, grant.lease, leaseMs) : undefined;
    emitMetric('BudgetLeft', grant.left, connection.connectionId);
    calls++;
    if (page === 1 && isWrite(job) && deps.executions) {
      const claim = await deps.executions.claim(connection.connectionId, job.jobId).catch(async (err) => {
        await keeper?.stop();
        throw err;
      });
      if (claim.state !== 'claimed') await keeper?.stop();
      if (claim.state === 'done') {
        await deps.queue.publishResult(claim.result, job.replyTo);
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
      reply = await deps.autotask.send(zoneUrl, credentials, call, { timeoutMs });
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
  await deps.queue.publishResult(result, job.replyTo);
  emitMetric('JobsSucceeded', 1, job.connectionId);
  log.info('job succeeded', { calls, httpStatus: result.httpStatus, waitedMs: result.waitedMs, truncated });
  return 'succeeded';
};

/** Short waits (a thread slot about to free, the bucket's quiet tail) are cheaper slept than queued. */
const reserveWithPatience = async (
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
    if (outcome.reason === 'thread-slot' && session.lease && round === 3) {
      // still waiting for this endpoint: do not keep another endpoint's thread meanwhile
      await session.releaseAll(deps.budget);
    }
    // all threads busy: look again with growing pauses (the latest copy of the budget item is
    // trusted for a second, so most looks cost no DynamoDB request)
    const pause = outcome.reason === 'thread-slot' ? 50 * 2 ** Math.min(round, 4) * (0.5 + random()) : 0;
    await sleep(Math.max(10, pause || outcome.retryAt - now()));
  }
};

/** The endpoint a job message will take a thread on (undefined if it is invalid). */
export const endpointOf = (body: string, deps: Pick<RunJobDeps, 'matchPath'>): string | undefined => {
  try {
    const job = parseJob(body);
    const route = deps.matchPath(job.request.method, job.request.path);
    return 'error' in route ? undefined : `${job.connectionId}/${route.endpoint}`;
  } catch {
    return undefined;
  }
};

/**
 * The last job of a batch holds its thread on a short lease, so the batch ends without a release
 * write: the entry expires by itself soon after the request. A request still running halfway
 * through the short lease renews it to the full lease (then it is released when the batch ends).
 */
const keepLease = (deps: RunJobDeps, session: WorkerSession, lease: ThreadLease, fullLeaseMs: number) => {
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
    Math.max(0, lease.expiresAt - SHORT_LEASE_MS / 2 - now()),
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
