/**
 * The stack's table and queues, created through the AWS SDK against the local emulators with the
 * shape the CDK app uses (shared/config/resources.ts). Idempotent: calling it again with the same
 * prefix returns the existing resources.
 *
 * Local differences: dynalite has no UpdateTimeToLive (items never expire locally) and fauxqs ignores
 * encryption settings, so neither TTL nor SSE is configured here.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Emulators } from '#local/emulators.ts';
import { envNames, queues, table, WORKER_TIMEOUT_SECONDS } from '#shared/config/resources.ts';
import { queueUrlFromArn } from '#shared/jobs/schema.ts';

export type QueueName = 'jobs' | 'critical' | 'delay' | 'parked' | 'results' | 'deadLetter';

export interface Resources {
  tableName: string;
  queueUrls: Record<QueueName, string>;
  queueArns: Record<QueueName, string>;
  /**
   * A queue jobs may name as `replyTo` (`<prefix>-replies`, as a deployment's replyQueueArns would):
   * `awsUrl` is its AWS-form URL (what `replyTo` and REPLY_QUEUE_URLS hold; fauxqs takes it as a
   * QueueUrl from a client with an explicit endpoint), `url` fauxqs's own.
   */
  replyQueue: { url: string; awsUrl: string; arn: string };
  /** TABLE_NAME and the *_QUEUE_URL(S) variables the functions read (names from envNames). */
  env: Record<string, string>;
}

type EmulatorAccess = Pick<Emulators, 'region' | 'endpoints'>;

/** Results are kept as long as SQS allows, like the CDK app does. */
const RESULTS_RETENTION_SECONDS = 14 * 24 * 3600;
/** The CDK app never lets a worker-fed queue's visibility timeout drop below 6x the worker timeout. */
const workerVisibility = (seconds: number) => Math.max(seconds, 6 * WORKER_TIMEOUT_SECONDS);

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export const createResources = async (
  emulators: EmulatorAccess,
  options: { prefix?: string } = {},
): Promise<Resources> => {
  const prefix = options.prefix ?? 'autotask-governor';
  const dynamo = new DynamoDBClient({
    region: emulators.region,
    endpoint: emulators.endpoints.dynamodb,
    credentials,
  });
  const sqs = new SQSClient({
    region: emulators.region,
    endpoint: emulators.endpoints.sqs,
    useQueueUrlAsEndpoint: false,
    credentials,
  });
  try {
    const tableName = `${prefix}-table`;
    await ensureTable(dynamo, tableName);

    const ensure = (name: string, attributes: Record<string, string>) =>
      ensureQueue(sqs, `${prefix}-${name}`, attributes);
    const deadLetter = await ensure(queues.deadLetter.suffix, {
      MessageRetentionPeriod: String(queues.deadLetter.retentionSeconds),
    });
    const redrive = (maxReceiveCount: number) =>
      JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount });
    const [jobs, critical, delay, parked, results, replies] = await Promise.all([
      ensure(queues.jobs.suffix, {
        VisibilityTimeout: String(workerVisibility(queues.jobs.visibilityTimeoutSeconds)),
        RedrivePolicy: redrive(queues.jobs.maxReceiveCount),
      }),
      ensure(queues.critical.suffix, {
        VisibilityTimeout: String(workerVisibility(queues.critical.visibilityTimeoutSeconds)),
        RedrivePolicy: redrive(queues.critical.maxReceiveCount),
      }),
      ensure(queues.delay.suffix, {
        VisibilityTimeout: String(workerVisibility(queues.delay.visibilityTimeoutSeconds)),
        RedrivePolicy: redrive(queues.delay.maxReceiveCount),
      }),
      ensure(queues.parked.suffix, {
        VisibilityTimeout: String(queues.parked.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(queues.parked.retentionSeconds),
      }),
      ensure(queues.results.suffix, {
        VisibilityTimeout: String(queues.results.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(RESULTS_RETENTION_SECONDS),
      }),
      ensure('replies', { MessageRetentionPeriod: String(RESULTS_RETENTION_SECONDS) }),
    ]);

    const queueUrls = {
      jobs: jobs.url,
      critical: critical.url,
      delay: delay.url,
      parked: parked.url,
      results: results.url,
      deadLetter: deadLetter.url,
    };
    const queueArns = {
      jobs: jobs.arn,
      critical: critical.arn,
      delay: delay.arn,
      parked: parked.arn,
      results: results.arn,
      deadLetter: deadLetter.arn,
    };
    const replyQueue = { url: replies.url, awsUrl: queueUrlFromArn(replies.arn), arn: replies.arn };
    return {
      tableName,
      queueUrls,
      queueArns,
      replyQueue,
      env: {
        [envNames.tableName]: tableName,
        [envNames.jobsQueueUrl]: queueUrls.jobs,
        [envNames.criticalQueueUrl]: queueUrls.critical,
        [envNames.delayQueueUrl]: queueUrls.delay,
        [envNames.parkedQueueUrl]: queueUrls.parked,
        [envNames.resultsQueueUrl]: queueUrls.results,
        [envNames.deadLetterQueueUrl]: queueUrls.deadLetter,
        [envNames.replyQueueUrls]: replyQueue.awsUrl,
      },
    };
  } finally {
    dynamo.destroy();
    sqs.destroy();
  }
};

const ensureTable = async (dynamo: DynamoDBClient, tableName: string) => {
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: table.partitionKey, AttributeType: 'S' },
          { AttributeName: table.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: table.partitionKey, KeyType: 'HASH' },
          { AttributeName: table.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // dynalite flips CREATING to ACTIVE on a timer, even with createTableMs 0.
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
};

const ensureQueue = async (sqs: SQSClient, name: string, attributes: Record<string, string>) => {
  let url: string | undefined;
  try {
    url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl;
  } catch (error) {
    // Exists with other attributes (e.g. created by an older version of this file): converge.
    if ((error as { name?: string }).name !== 'QueueNameExists') throw error;
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  }
  if (!url) throw new Error(`no URL for queue ${name}`);
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`no ARN for queue ${name}`);
  return { url, arn };
};
