import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PathMatch } from '#shared/autotask/paths.ts';
import type { ConnectionStore } from '#shared/connections/store.ts';
import { errorMessage, ValidationError } from '#shared/errors.ts';
import { replyRefusal, validateJob } from '#shared/jobs/schema.ts';

export const MAX_JOBS_PER_REQUEST = 100;
const MAX_JOB_BYTES = 256 * 1024;

export interface IntakeOutcome {
  accepted: Array<{ index: number; jobId: string; messageId: string }>;
  /** `retryable`: the job was valid but SQS did not take it. */
  rejected: Array<{ index: number; jobId?: string; error: string; retryable?: boolean }>;
}

/** What the worker checks before it runs a job, checked at intake too (the worker checks again). */
export interface IntakeChecks {
  /** The Autotask paths and methods a job may call (shared/autotask/paths.ts `matchPath`). */
  matchPath: (method: string, path: string) => PathMatch;
  /** The queues a job may name as `replyTo` (REPLY_QUEUE_URLS). */
  replyQueueUrls: readonly string[];
}

/**
 * `POST /jobs`: the same contract as the jobs queue, checked before it is queued so the caller
 * learns of a bad job at once instead of from the dead-letter queue:
 * 1. validate each job (schema, size, Autotask path and method, `replyTo`) and that its connection exists;
 * 2. send the valid ones, unchanged, in batches of 10: critical jobs to their own lane (the critical
 *    queue), the others to the jobs queue;
 * 3. report each job as accepted (with its SQS message id) or rejected (with the reason).
 */
export class JobIntake {
  constructor(
    private readonly sqs: SQSClient,
    private readonly jobsQueueUrl: string,
    private readonly connections: Pick<ConnectionStore, 'get'>,
    private readonly checks: IntakeChecks,
    /** Critical jobs' own lane (absent: they go to the jobs queue too). */
    private readonly criticalQueueUrl?: string,
  ) {}

  async submit(items: unknown[]): Promise<IntakeOutcome> {
    if (items.length === 0 || items.length > MAX_JOBS_PER_REQUEST)
      throw new ValidationError(`send 1 to ${MAX_JOBS_PER_REQUEST} jobs per request`, 'invalid-batch');
    const outcome: IntakeOutcome = { accepted: [], rejected: [] };
    const known = new Map<string, boolean>();
    const valid: Array<{ index: number; jobId: string; body: string; critical: boolean }> = [];
    for (const [index, item] of items.entries()) {
      const jobId =
        typeof (item as { jobId?: unknown })?.jobId === 'string'
          ? (item as { jobId: string }).jobId
          : undefined;
      try {
        const job = validateJob(item);
        const route = this.checks.matchPath(job.request.method, job.request.path);
        if ('error' in route) throw new ValidationError(route.error);
        const refusal = replyRefusal(job, this.checks.replyQueueUrls);
        if (refusal !== undefined) throw new ValidationError(refusal);
        const body = JSON.stringify(item);
        if (Buffer.byteLength(body) > MAX_JOB_BYTES)
          throw new ValidationError(`a job may be at most ${MAX_JOB_BYTES} bytes`);
        if (!known.has(job.connectionId))
          known.set(job.connectionId, (await this.connections.get(job.connectionId)) !== undefined);
        if (!known.get(job.connectionId))
          throw new ValidationError(`no connection "${job.connectionId}" is configured`);
        valid.push({ index, jobId: job.jobId, body, critical: job.priority === 'critical' });
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        outcome.rejected.push({
          index,
          ...(jobId ? { jobId: jobId.slice(0, 128) } : {}),
          error: err.message,
        });
      }
    }
    const critical = this.criticalQueueUrl;
    const lanes = critical
      ? [
          { url: critical, jobs: valid.filter((j) => j.critical) },
          { url: this.jobsQueueUrl, jobs: valid.filter((j) => !j.critical) },
        ]
      : [{ url: this.jobsQueueUrl, jobs: valid }];
    for (const lane of lanes) await this.send(lane.url, lane.jobs, outcome);
    outcome.accepted.sort((a, b) => a.index - b.index);
    outcome.rejected.sort((a, b) => a.index - b.index);
    return outcome;
  }

  private async send(
    queueUrl: string,
    valid: Array<{ index: number; jobId: string; body: string }>,
    outcome: IntakeOutcome,
  ): Promise<void> {
    for (let i = 0; i < valid.length; i += 10) {
      const chunk = valid.slice(i, i + 10);
      try {
        const out = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((job, j) => ({ Id: String(j), MessageBody: job.body })),
          }),
        );
        for (const ok of out.Successful ?? []) {
          const job = chunk[Number(ok.Id)];
          if (job)
            outcome.accepted.push({ index: job.index, jobId: job.jobId, messageId: ok.MessageId ?? '' });
        }
        for (const failed of out.Failed ?? []) {
          const job = chunk[Number(failed.Id)];
          if (job)
            outcome.rejected.push({
              index: job.index,
              jobId: job.jobId,
              error: `not queued: ${failed.Message}`,
              retryable: true,
            });
        }
      } catch (err) {
        for (const job of chunk)
          outcome.rejected.push({
            index: job.index,
            jobId: job.jobId,
            error: `not queued: ${errorMessage(err)}`,
            retryable: true,
          });
      }
    }
  }
}

/** Approximate jobs waiting on the jobs and delay queues (SQS counts; all connections together). */
export const queueDepths = async (
  sqs: SQSClient,
  urls: Record<string, string>,
): Promise<Record<string, number>> => {
  const depths: Record<string, number> = {};
  for (const [name, url] of Object.entries(urls)) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesDelayed',
          'ApproximateNumberOfMessagesNotVisible',
        ],
      }),
    );
    depths[name] = Object.values(out.Attributes ?? {}).reduce((sum, v) => sum + Number(v ?? 0), 0);
  }
  return depths;
};
