/**
 * A worker "container" apart from the bench's process, as Lambda runs workers apart from the
 * services they call: the same worker handler Lambda runs, polling the queues named in its
 * environment. The duplicates benchmark SIGKILLs it at random moments; the other governor cases
 * run their whole worker pool in one such process and ask it for its DynamoDB split over IPC.
 */
import { startPoller } from '#local/sqs-poller.ts';

const batchSize = Number(process.env.BENCH_WORKER_BATCH_SIZE ?? 2);
// the deployed batching window (the local stack puts it in the environment the child inherits)
const maxBatchingWindowSeconds = Number(process.env.BATCHING_WINDOW_SECONDS ?? 0);
const maxConcurrency = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 4);
const { handler } = await import('#functions/worker/handler.ts');
if (process.send) {
  // an IPC channel: the bench wants this process's DynamoDB split
  const { dynamo } = await import('#shared/aws/clients.ts');
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { countDynamoRequests } = await import('./dynamo-count.ts');
  const explain =
    process.env.BENCH_EXPLAIN === '1'
      ? { reader: new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB }) }
      : undefined;
  const count = countDynamoRequests(dynamo, explain);
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'reset') count.reset();
    if (message.type === 'counts')
      process.send?.({ type: 'counts', byItem: count.byItem(), explainReads: count.explainReads() });
  });
}
for (const [url, arn] of [
  [process.env.JOBS_QUEUE_URL, process.env.JOBS_QUEUE_ARN],
  [process.env.DELAY_QUEUE_URL, process.env.DELAY_QUEUE_ARN],
  [process.env.CRITICAL_QUEUE_URL, process.env.CRITICAL_QUEUE_ARN],
]) {
  startPoller({
    queueUrl: url as string,
    queueArn: arn as string,
    handler: (event, context) => handler(event, context),
    // the duplicates case keeps few messages in flight per "container", so each kill interrupts a
    // handful of jobs, as one crashed Lambda invocation would
    // the critical lane's event source takes small batches at once (infra/constructs/worker.ts)
    batchSize: url === process.env.CRITICAL_QUEUE_URL ? Math.min(batchSize, 5) : batchSize,
    maxBatchingWindowSeconds: url === process.env.CRITICAL_QUEUE_URL ? 0 : maxBatchingWindowSeconds,
    maxConcurrency,
    region: process.env.AWS_REGION ?? 'us-east-1',
  });
}
process.stdout.write('ready\n');
