import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { buildWorkerDeps } from '#functions/worker/deps.ts';
import { processBatch } from '#shared/jobs/process-batch.ts';
import { logger } from '#shared/observability/logger.ts';

const deps = buildWorkerDeps();

/** Consumes the jobs queue and the delay queue: one settled result per record (partial batch response). */
const run = (event: SQSEvent, context: Context) =>
  processBatch(
    event.Records.map((record) => ({
      messageId: record.messageId,
      body: record.body,
      attributes: record.messageAttributes,
      sentTimestamp: Number(record.attributes.SentTimestamp),
    })),
    deps,
    () => context.getRemainingTimeInMillis(),
  );

// The middleware turns the settled results into Lambda's `{ batchItemFailures }` response.
export const handler = middy(run).use(
  sqsPartialBatchFailure({ logger: (reason: unknown) => logger.error('record failed', { error: reason }) }),
) as unknown as (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
