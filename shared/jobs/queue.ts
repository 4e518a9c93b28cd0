import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterReason, JobResult } from '#shared/jobs/result.ts';

/** The connection a parked job waits for (message attribute; shared/jobs/parking.ts). */
export const PARKED_CONNECTION_ATTR = 'gov-connection';

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
  /**
   * Parks a job that met its connection asleep until the connection wakes (shared/jobs/parking.ts).
   * Absent (no parked queue configured): the job looks again through the delay queue instead.
   */
  park?(body: string, meta: JobMeta, connectionId: string): Promise<void>;
  /** `result`: what Autotask answered a job whose result could not be published (attribute `gov-result`). */
  deadLetter(
    body: string,
    reason: DeadLetterReason,
    error: string,
    meta: JobMeta,
    result?: JobResult,
  ): Promise<void>;
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
  /** The job's result, when it was run but its result could not be published (`result-undeliverable`). */
  result: 'gov-result',
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

/** SQS takes 256 KiB per message (body and attributes together) on every queue type. */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;
/** A published result: under the SQS cap with headroom for attributes. */
export const MAX_RESULT_BYTES = 240 * 1024;
/** Kept free in a dead letter that carries a result (SQS counts attribute names, types and values). */
const DEAD_LETTER_HEADROOM_BYTES = 1024;

/** What SQS counts for message attributes: each name, data type and value. */
const attributeBytes = (attrs: Record<string, MessageAttributeValue>): number =>
  Object.entries(attrs).reduce(
    (sum, [name, a]) =>
      sum +
      Buffer.byteLength(name) +
      Buffer.byteLength(a.DataType ?? '') +
      Buffer.byteLength(a.StringValue ?? ''),
    0,
  );

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly urls: { delay: string; results: string; deadLetter: string; parked?: string },
  ) {
    const parked = urls.parked;
    if (parked)
      this.park = async (body, meta, connectionId) => {
        await this.sqs.send(
          new SendMessageCommand({
            QueueUrl: parked,
            MessageBody: body,
            MessageAttributes: { ...metaAttributes(meta), [PARKED_CONNECTION_ATTR]: str(connectionId) },
          }),
        );
      };
  }

  park?: JobQueue['park'];

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

  async deadLetter(
    body: string,
    reason: DeadLetterReason,
    error: string,
    meta: JobMeta,
    result?: JobResult,
  ): Promise<void> {
    const messageBody = body.length > 0 ? body : '(empty body)';
    const attrs = { ...metaAttributes(meta), [ATTR.reason]: str(reason) };
    let message = error.slice(0, 1000) || reason;
    let resultText: string | undefined;
    if (result) {
      // the original job stays the body (it can be redriven); the result gets what room is left
      const room =
        SQS_MAX_MESSAGE_BYTES -
        DEAD_LETTER_HEADROOM_BYTES -
        Buffer.byteLength(messageBody) -
        attributeBytes({ ...attrs, [ATTR.error]: str(message) }) -
        attributeBytes({ [ATTR.result]: str('') });
      resultText = fitResult(result, room);
      if (Buffer.byteLength(resultText) > room) {
        resultText = undefined;
        message = `${message.slice(0, 900)} (the result did not fit in the dead letter)`;
      }
    }
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.urls.deadLetter,
        MessageBody: messageBody,
        MessageAttributes: {
          ...attrs,
          [ATTR.error]: str(message),
          ...(resultText === undefined ? {} : { [ATTR.result]: str(resultText) }),
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

/**
 * JSON that SQS takes: SQS refuses U+FFFE and U+FFFF, which JSON.stringify leaves as they are (it
 * escapes control characters and lone surrogates). They can only occur inside strings, where the
 * `\uXXXX` escape means the same.
 */
const sqsJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/**
 * Serialises a result, trimming a query's items (and marking it truncated) if it would not fit in
 * `maxBytes`, else dropping the response. The last resort can still exceed a very small `maxBytes`.
 */
export const fitResult = (result: JobResult, maxBytes: number = MAX_RESULT_BYTES): string => {
  let text = sqsJson(result);
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const response = result.response as { items?: unknown[] } | undefined;
  if (response && Array.isArray(response.items)) {
    let items = response.items;
    while (items.length > 0 && Buffer.byteLength(text) > maxBytes) {
      items = items.slice(0, Math.floor(items.length * 0.8));
      text = sqsJson({ ...result, truncated: true, response: { ...response, items } });
    }
    if (Buffer.byteLength(text) <= maxBytes) return text;
  }
  return sqsJson({
    ...result,
    truncated: true,
    response: undefined,
    error: result.error ?? {
      kind: 'too-large',
      message: `response exceeded ${Math.max(0, maxBytes)} bytes and was dropped`,
    },
  });
};
