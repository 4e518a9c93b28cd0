import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterReason, JobResult } from '#shared/jobs/result.ts';

/**
 * Bookkeeping that travels with a job between hops, as SQS message attributes so the body stays
 * exactly what the integration sent (an SQS redrive from the dead-letter queue then just works).
 */
export interface JobMeta {
  /** Executions already spent on Autotask/network faults. Throttling never increments it. */
  attempts: number;
  /** When the governor first saw the job (ms since epoch). */
  firstSeenAt: number;
  /** Hops through the delay queue for lack of budget or a thread slot. */
  throttles: number;
  /** Do not run before this instant (ms): lets waits longer than SQS's 900 s cap chain hop by hop. */
  notBefore?: number;
  /** The budget bucket the job was told to come back in (lets the worker release its place). */
  promisedBucket?: number;
}

export interface JobQueue {
  delay(body: string, delaySeconds: number, meta: JobMeta): Promise<void>;
  deadLetter(body: string, reason: DeadLetterReason, error: string, meta: JobMeta): Promise<void>;
  publishResult(result: JobResult, replyTo?: string): Promise<void>;
}

export const ATTR = {
  attempts: 'gov-attempts',
  firstSeenAt: 'gov-first-seen-at',
  throttles: 'gov-throttles',
  notBefore: 'gov-not-before',
  promisedBucket: 'gov-promised-bucket',
  reason: 'gov-reason',
  error: 'gov-error',
} as const;

const num = (value: number): MessageAttributeValue => ({
  DataType: 'Number',
  StringValue: String(Math.round(value)),
});
const str = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

const metaAttributes = (meta: JobMeta): Record<string, MessageAttributeValue> => {
  const attrs: Record<string, MessageAttributeValue> = {
    [ATTR.attempts]: num(meta.attempts),
    [ATTR.firstSeenAt]: num(meta.firstSeenAt),
    [ATTR.throttles]: num(meta.throttles),
  };
  if (meta.notBefore !== undefined) attrs[ATTR.notBefore] = num(meta.notBefore);
  if (meta.promisedBucket !== undefined) attrs[ATTR.promisedBucket] = num(meta.promisedBucket);
  return attrs;
};

/** Reads the bookkeeping back from a received message (Lambda's or the SDK's attribute shape). */
export const readMeta = (
  attributes: Record<string, { stringValue?: string; StringValue?: string } | undefined>,
  sentTimestamp: number,
): JobMeta => {
  const read = (name: string): number | undefined => {
    const raw = attributes[name]?.stringValue ?? attributes[name]?.StringValue;
    const value = raw === undefined ? Number.NaN : Number(raw);
    return Number.isFinite(value) ? value : undefined;
  };
  const notBefore = read(ATTR.notBefore);
  const promisedBucket = read(ATTR.promisedBucket);
  return {
    attempts: read(ATTR.attempts) ?? 0,
    firstSeenAt: read(ATTR.firstSeenAt) ?? sentTimestamp,
    throttles: read(ATTR.throttles) ?? 0,
    ...(notBefore === undefined ? {} : { notBefore }),
    ...(promisedBucket === undefined ? {} : { promisedBucket }),
  };
};

/** SQS takes 256 KiB per message on every queue type; stay under it with headroom for attributes. */
export const MAX_RESULT_BYTES = 240 * 1024;

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly urls: { delay: string; results: string; deadLetter: string },
  ) {}

  async delay(body: string, delaySeconds: number, meta: JobMeta): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.urls.delay,
        MessageBody: body,
        DelaySeconds: Math.max(0, Math.min(900, Math.ceil(delaySeconds))),
        MessageAttributes: metaAttributes(meta),
      }),
    );
  }

  async deadLetter(body: string, reason: DeadLetterReason, error: string, meta: JobMeta): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.urls.deadLetter,
        MessageBody: body.length > 0 ? body : '(empty body)',
        MessageAttributes: {
          ...metaAttributes(meta),
          [ATTR.reason]: str(reason),
          [ATTR.error]: str(error.slice(0, 1000) || reason),
        },
      }),
    );
  }

  async publishResult(result: JobResult, replyTo?: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: replyTo ?? this.urls.results, MessageBody: fitResult(result) }),
    );
  }
}

/** Serialises a result, trimming a query's items (and marking it truncated) if it would not fit in SQS. */
export const fitResult = (result: JobResult): string => {
  let text = JSON.stringify(result);
  if (Buffer.byteLength(text) <= MAX_RESULT_BYTES) return text;
  const response = result.response as { items?: unknown[] } | undefined;
  if (response && Array.isArray(response.items)) {
    let items = response.items;
    while (items.length > 0 && Buffer.byteLength(text) > MAX_RESULT_BYTES) {
      items = items.slice(0, Math.floor(items.length * 0.8));
      text = JSON.stringify({ ...result, truncated: true, response: { ...response, items } });
    }
    if (Buffer.byteLength(text) <= MAX_RESULT_BYTES) return text;
  }
  return JSON.stringify({
    ...result,
    truncated: true,
    response: undefined,
    error: result.error ?? {
      kind: 'too-large',
      message: `response exceeded ${MAX_RESULT_BYTES} bytes and was dropped`,
    },
  });
};
