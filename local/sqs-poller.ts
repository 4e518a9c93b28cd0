/**
 * The local stand-in for Lambda's SQS event source mapping: `maxConcurrency` independent loops, each
 * receive -> invoke -> delete, like ESM pollers bounded by MaximumConcurrency. Records are built the
 * way Lambda builds them; after the handler returns, every record not named in `batchItemFailures` is
 * deleted; if the handler throws (or names an unknown record) nothing is deleted and the messages
 * come back after the visibility timeout, then redrive to the dead-letter queue after maxReceiveCount.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from 'aws-lambda';
import { WORKER_TIMEOUT_SECONDS } from '#shared/config/resources.ts';

const LOCAL_ACCOUNT_ID = '000000000000';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export type SqsBatchHandler = (
  event: SQSEvent,
  context: Context,
  // biome-ignore lint/suspicious/noConfusingVoidType: a Lambda SQS handler may return nothing (aws-lambda's SQSHandler type).
) => Promise<SQSBatchResponse | void>;

export interface PollerOptions {
  queueUrl: string;
  queueArn: string;
  handler: SqsBatchHandler;
  /** Records per invocation (ESM BatchSize); above 10 a batch is gathered from several receives. */
  batchSize: number;
  /**
   * ESM MaximumBatchingWindowInSeconds (default 0): once a first record is in, records are gathered
   * for up to this long until the batch is full. 0 invokes with whatever the receives returned.
   */
  maxBatchingWindowSeconds?: number;
  /** Concurrent handler invocations (ESM MaximumConcurrency). */
  maxConcurrency: number;
  /** Long-poll wait per receive (default 1 s); also bounds how long stop() waits for a receive. */
  waitTimeSeconds?: number;
  functionName?: string;
  region: string;
  /** Defaults to AWS_ENDPOINT_URL_SQS. */
  endpoint?: string;
  /** Function timeout behind context.getRemainingTimeInMillis() (default: the worker's, 30 s). */
  timeoutSeconds?: number;
  /** Receive/delete errors are retried silently; this sees them (handler errors count in stats). */
  onError?: (error: unknown) => void;
}

export interface PollerStats {
  /** Handler invocations. */
  invocations: number;
  /** Records delivered to the handler. */
  records: number;
  /** Records the handler reported in batchItemFailures. */
  failures: number;
  /** Invocations that threw (or returned an unusable batch response): nothing of theirs was deleted. */
  errors: number;
}

export interface Poller {
  /** Stops receiving and waits for in-flight invocations (and their deletes) to finish. */
  stop(): Promise<void>;
  stats(): PollerStats;
}

export interface LambdaContextOptions {
  functionName: string;
  region: string;
  timeoutSeconds?: number;
  memoryLimitInMB?: number;
}

/** A plausible Lambda context for one invocation. */
export const createLambdaContext = (options: LambdaContextOptions): Context => {
  const timeoutMs = (options.timeoutSeconds ?? WORKER_TIMEOUT_SECONDS) * 1000;
  const deadline = Date.now() + timeoutMs;
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const noop = () => undefined;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${options.region}:${LOCAL_ACCOUNT_ID}:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `${today}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: noop,
    fail: noop,
    succeed: noop,
  };
};

/** An SQS message as Lambda puts it in an SQSEvent record. */
export const toSqsRecord = (message: Message, queueArn: string, region: string): SQSRecord => {
  const system = message.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
    SentTimestamp: system.SentTimestamp ?? String(Date.now()),
    SenderId: system.SenderId ?? LOCAL_ACCOUNT_ID,
    ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  for (const key of [
    'AWSTraceHeader',
    'SequenceNumber',
    'MessageGroupId',
    'MessageDeduplicationId',
    'DeadLetterQueueSourceArn',
  ] as const) {
    const value = system[key];
    if (value !== undefined) attributes[key] = value;
  }
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const chunks = <T>(items: T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

export const startPoller = (options: PollerOptions): Poller => {
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const functionName = options.functionName ?? 'local-function';
  const batchSize = Math.max(1, Math.floor(options.batchSize));
  const concurrency = Math.max(1, Math.floor(options.maxConcurrency));
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_SQS;
  const sqs = new SQSClient({
    region: options.region,
    // Only ever talks to the local emulator, which accepts any signature.
    credentials: LOCAL_CREDENTIALS,
    ...(endpoint ? { endpoint, useQueueUrlAsEndpoint: false } : {}),
  });
  const stats: PollerStats = { invocations: 0, records: 0, failures: 0, errors: 0 };
  let stopping = false;

  const windowMs = Math.max(0, (options.maxBatchingWindowSeconds ?? 0) * 1000);
  const receive = async (): Promise<Message[]> => {
    const batch: Message[] = [];
    let gatherUntil = 0;
    while (batch.length < batchSize) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - batch.length),
          // Only the first receive of a batch long-polls; the rest gather what is already there.
          WaitTimeSeconds: batch.length === 0 ? waitTimeSeconds : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (batch.length === 0 && messages.length > 0) gatherUntil = Date.now() + windowMs;
      batch.push(...messages);
      if (stopping || batch.length === 0) break;
      if (messages.length === 0) {
        // the queue has nothing more right now: invoke, or wait for more within the batching window
        const left = gatherUntil - Date.now();
        if (left <= 0) break;
        await sleep(Math.min(100, left));
      } else if (windowMs > 0 && Date.now() >= gatherUntil) break;
    }
    return batch;
  };

  const deleteRecords = async (records: SQSRecord[]) => {
    for (const chunk of chunks(records, 10)) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: chunk.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
  };

  /** Messages received after stop() are handed back at once rather than invoked. */
  const release = async (messages: Message[]) => {
    for (const chunk of chunks(messages, 10)) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: chunk.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  };

  const invoke = async (messages: Message[]) => {
    const records = messages.map((m) => toSqsRecord(m, options.queueArn, options.region));
    const context = createLambdaContext({
      functionName,
      region: options.region,
      ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}),
    });
    stats.invocations += 1;
    stats.records += records.length;
    let response: SQSBatchResponse | undefined;
    try {
      response = (await options.handler({ Records: records }, context)) as SQSBatchResponse | undefined;
    } catch {
      stats.errors += 1;
      return;
    }
    const failures = response?.batchItemFailures ?? [];
    const ids = new Set(records.map((r) => r.messageId));
    // Lambda treats a failure entry that names no record of the batch as a failure of the whole batch.
    if (!Array.isArray(failures) || failures.some((f) => !f?.itemIdentifier || !ids.has(f.itemIdentifier))) {
      stats.errors += 1;
      return;
    }
    const failed = new Set(failures.map((f) => f.itemIdentifier));
    stats.failures += failed.size;
    await deleteRecords(records.filter((r) => !failed.has(r.messageId)));
  };

  const loop = async () => {
    let backoffMs = 50;
    while (!stopping) {
      try {
        const messages = await receive();
        if (messages.length === 0) {
          if (waitTimeSeconds === 0) await sleep(50);
          continue;
        }
        if (stopping) {
          await release(messages);
          break;
        }
        await invoke(messages);
        backoffMs = 50;
      } catch (error) {
        // The queue or the emulator is unavailable (e.g. shutting down): back off and retry, silently.
        if (stopping) break;
        options.onError?.(error);
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 1000);
      }
    }
  };

  const loops = Array.from({ length: concurrency }, () => loop());
  let stopped: Promise<void> | undefined;

  return {
    stop: () => {
      stopping = true;
      stopped ??= Promise.allSettled(loops).then(() => {
        sqs.destroy();
      });
      return stopped;
    },
    stats: () => ({ ...stats }),
  };
};
