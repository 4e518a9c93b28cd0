import type { MessageAttributeValue, SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { ATTR, type JobMeta, SqsJobQueue } from '#shared/jobs/queue.ts';
import type { JobResult } from '#shared/jobs/result.ts';

// Issue 21: a job whose result cannot be published is dead-lettered with the result attached
// (attribute gov-result), and the dead letter still fits in one SQS message.

const SQS_MAX = 256 * 1024;
const meta: JobMeta = { attempts: 0, firstSeenAt: 1, throttles: 2, notBefore: 3, promisedBucket: 4 };

const capture = () => {
  const sent: SendMessageCommandInput[] = [];
  const sqs = { send: async (command: { input: SendMessageCommandInput }) => sent.push(command.input) };
  const queue = new SqsJobQueue(sqs as unknown as SQSClient, { delay: 'd', results: 'r', deadLetter: 'dl' });
  return { queue, sent };
};

/** What SQS counts against its limit: the body and each attribute's name, type and value. */
const sqsBytes = (m: SendMessageCommandInput): number =>
  Buffer.byteLength(m.MessageBody ?? '') +
  Object.entries(m.MessageAttributes ?? {}).reduce(
    (sum, [name, a]: [string, MessageAttributeValue]) =>
      sum +
      Buffer.byteLength(name) +
      Buffer.byteLength(a.DataType ?? '') +
      Buffer.byteLength(a.StringValue ?? ''),
    0,
  );

const result = (response: unknown): JobResult => ({
  jobId: 'j1',
  connectionId: 'c1',
  status: 'succeeded',
  httpStatus: 200,
  response,
  calls: 1,
  attempts: 1,
  waitedMs: 5,
  completedAt: '2026-01-01T00:00:00.000Z',
});

describe('a dead letter that carries the result', () => {
  it('attaches a small result whole, next to the reason and the original body', async () => {
    const { queue, sent } = capture();
    const r = result({ item: { id: 1, title: 'ticket' } });
    await queue.deadLetter('{"jobId":"j1"}', 'result-undeliverable', 'could not publish', meta, r);
    expect(sent[0]?.QueueUrl).toBe('dl');
    expect(sent[0]?.MessageBody).toBe('{"jobId":"j1"}');
    expect(sent[0]?.MessageAttributes?.[ATTR.reason]?.StringValue).toBe('result-undeliverable');
    expect(JSON.parse(sent[0]?.MessageAttributes?.[ATTR.result]?.StringValue ?? 'null')).toEqual(r);
  });

  it('trims a large query result so body + attributes stay under 256 KiB', async () => {
    const { queue, sent } = capture();
    const items = Array.from({ length: 5000 }, (_, id) => ({ id, title: 't'.repeat(100) }));
    const body = JSON.stringify({ jobId: 'j1', pad: 'p'.repeat(100_000) });
    await queue.deadLetter(body, 'result-undeliverable', 'e'.repeat(5000), meta, result({ items }));
    const m = sent[0] as SendMessageCommandInput;
    expect(m.MessageBody).toBe(body);
    expect(sqsBytes(m)).toBeLessThanOrEqual(SQS_MAX);
    const attached = JSON.parse(m.MessageAttributes?.[ATTR.result]?.StringValue ?? 'null');
    expect(attached.truncated).toBe(true);
    expect(attached.response.items.length).toBeGreaterThan(100);
    expect(attached.response.items.length).toBeLessThan(5000);
  });

  it('leaves the result out (and says so) when the job itself fills the message', async () => {
    const { queue, sent } = capture();
    const body = JSON.stringify({ jobId: 'j1', pad: 'p'.repeat(SQS_MAX - 600) });
    await queue.deadLetter(
      body,
      'result-undeliverable',
      'could not publish',
      meta,
      result({ item: { id: 1 } }),
    );
    const m = sent[0] as SendMessageCommandInput;
    expect(m.MessageAttributes?.[ATTR.result]).toBeUndefined();
    expect(m.MessageAttributes?.[ATTR.error]?.StringValue).toMatch(/did not fit/);
    expect(sqsBytes(m)).toBeLessThanOrEqual(SQS_MAX);
  });

  it('escapes U+FFFE/U+FFFF, which SQS refuses, in results it publishes or attaches', async () => {
    const { queue, sent } = capture();
    const r = result({ item: { title: 'odd \uFFFF and \uFFFE chars' } });
    await queue.publishResult(r);
    await queue.deadLetter('{}', 'result-undeliverable', 'x', meta, r);
    const texts = [sent[0]?.MessageBody, sent[1]?.MessageAttributes?.[ATTR.result]?.StringValue];
    for (const text of texts) {
      expect(text).not.toMatch(/[\uFFFE\uFFFF]/);
      expect(JSON.parse(text ?? 'null')).toEqual(r);
    }
  });
});
