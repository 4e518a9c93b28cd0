/**
 * A worker "container" the duplicates benchmark kills with SIGKILL at random moments: the same
 * worker handler Lambda runs, polling the queues named in its environment.
 */
import { startPoller } from '#local/sqs-poller.ts';

const { handler } = await import('#functions/worker/handler.ts');
for (const [url, arn] of [
  [process.env.JOBS_QUEUE_URL, process.env.JOBS_QUEUE_ARN],
  [process.env.DELAY_QUEUE_URL, process.env.DELAY_QUEUE_ARN],
]) {
  startPoller({
    queueUrl: url as string,
    queueArn: arn as string,
    handler: (event, context) => handler(event, context),
    // few messages in flight per "container", so each kill interrupts a handful of jobs, as one
    // crashed Lambda invocation would
    batchSize: 2,
    maxConcurrency: 4,
    region: process.env.AWS_REGION ?? 'us-east-1',
  });
}
process.stdout.write('ready\n');
