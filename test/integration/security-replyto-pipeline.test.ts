import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGovernor } from '#local/governor.ts';
import { ATTR } from '#shared/jobs/queue.ts';
import type { JobResult } from '#shared/jobs/result.ts';
import { call, quietConnection, sleepMs, startOperatorGovernor } from '../support/operators.ts';

// Issue 21, finding 2: `replyTo` may only name one of the stack's reply queues (REPLY_QUEUE_URLS),
// checked by POST /jobs and by the worker before any budget or Autotask call; a result that cannot
// be delivered is dead-lettered with the result attached, after exactly one Autotask call.

/** Allowed in REPLY_QUEUE_URLS but never created: results sent there are undeliverable. */
const NOWHERE = 'https://sqs.us-east-1.amazonaws.com/000000000000/nowhere-replies';
/** A well-formed SQS queue URL of another account, not among the reply queues. */
const FOREIGN = 'https://sqs.us-east-1.amazonaws.com/999999999999/someone-elses-queue';

let gov: LocalGovernor;
let token: string;

beforeAll(async () => {
  ({ gov, token } = await startOperatorGovernor('replyto', {
    ...quietConnection(6000, 60),
    syncIntervalMs: 0,
    worker: { batchSize: 10, maxConcurrency: 2, maxBatchingWindowSeconds: 0 },
    extraReplyQueueUrls: [NOWHERE],
  }));
});

afterAll(async () => {
  await gov?.stop();
});

const read = (jobId: string, replyTo?: string) => ({
  jobId,
  connectionId: gov.connectionId,
  request: { method: 'GET' as const, path: '/Tickets/5' },
  ...(replyTo ? { replyTo } : {}),
});
const write = (jobId: string, replyTo?: string) => ({
  jobId,
  connectionId: gov.connectionId,
  request: {
    method: 'POST' as const,
    path: '/Tickets',
    body: {
      title: jobId,
      companyID: 0,
      status: 1,
      priority: 2,
      queueID: 1,
      dueDateTime: '2026-12-01T00:00:00Z',
    },
  },
  ...(replyTo ? { replyTo } : {}),
});

/** The simulator's last sequence number: calls after it are this test's. */
const mark = () => gov.simulator.calls().at(-1)?.seq ?? 0;
const ourCallsSince = (seq: number) => gov.simulator.calls({ source: 'ours', sinceSeq: seq });

interface DeadLetter {
  reason: string;
  error: string;
  result?: JobResult;
}
const dead = new Map<string, DeadLetter>();
/** Polls the dead-letter queue until `jobId` is there (or the time is up). */
const deadLetterOf = async (jobId: string, timeoutMs = 20_000): Promise<DeadLetter | undefined> => {
  const deadline = Date.now() + timeoutMs;
  while (!dead.has(jobId) && Date.now() < deadline) {
    for (const m of await gov.drain(gov.resources.queueUrls.deadLetter, 1)) {
      const id = /"jobId":\s*"([^"]+)"/.exec(m.Body ?? '')?.[1] ?? 'unparseable';
      const attached = m.MessageAttributes?.[ATTR.result]?.StringValue;
      dead.set(id, {
        reason: m.MessageAttributes?.[ATTR.reason]?.StringValue ?? '',
        error: m.MessageAttributes?.[ATTR.error]?.StringValue ?? '',
        ...(attached ? { result: JSON.parse(attached) as JobResult } : {}),
      });
    }
  }
  return dead.get(jobId);
};

describe('replyTo outside the reply queues', () => {
  it('is refused by POST /jobs with 400 and the reason', async () => {
    const answer = await call(gov, 'POST', '/jobs', {
      token,
      body: [read('api-foreign', FOREIGN), read('api-attacker', 'https://attacker.example/000000000000/q')],
    });
    expect(answer.status).toBe(400);
    expect(answer.json.accepted).toEqual([]);
    expect(answer.json.rejected).toEqual([
      {
        index: 0,
        jobId: 'api-foreign',
        error: expect.stringMatching(
          /replyTo ".*someone-elses-queue" is not one of this stack's reply queues/,
        ),
      },
      { index: 1, jobId: 'api-attacker', error: expect.stringMatching(/replyTo must be an SQS queue URL/) },
    ]);
  });

  it('sent straight to the jobs queue, is dead-lettered by the worker without an Autotask call', async () => {
    const seq = mark();
    await gov.sendJobs([read('sqs-foreign-read', FOREIGN), write('sqs-foreign-write', FOREIGN)]);
    expect((await deadLetterOf('sqs-foreign-read'))?.reason).toBe('reply-not-allowed');
    expect((await deadLetterOf('sqs-foreign-write'))?.reason).toBe('reply-not-allowed');
    expect(dead.get('sqs-foreign-read')?.error).toContain(FOREIGN);
    expect(ourCallsSince(seq)).toEqual([]);
  });
});

describe('an allowed replyTo', () => {
  it('gets the result (the local reply queue, by its AWS-form URL)', async () => {
    const replyTo = gov.resources.replyQueue.awsUrl;
    const answer = await call(gov, 'POST', '/jobs', { token, body: [read('reply-ok', replyTo)] });
    expect(answer.status).toBe(202);
    let got: Message[] = [];
    const deadline = Date.now() + 20_000;
    while (got.length === 0 && Date.now() < deadline) got = await gov.drain(gov.resources.replyQueue.url, 1);
    expect(got.map((m) => (JSON.parse(m.Body ?? '{}') as JobResult).jobId)).toEqual(['reply-ok']);
  });

  it('that cannot be delivered: a read calls Autotask exactly once and is dead-lettered with its result', async () => {
    const seq = mark();
    const answer = await call(gov, 'POST', '/jobs', { token, body: [read('undeliverable-read', NOWHERE)] });
    expect(answer.status).toBe(202);
    const letter = await deadLetterOf('undeliverable-read');
    expect(letter).toMatchObject({
      reason: 'result-undeliverable',
      result: { jobId: 'undeliverable-read', status: 'succeeded', httpStatus: 200, calls: 1 },
    });
    expect(letter?.error).toMatch(/nowhere-replies/);
    expect((letter?.result?.response as { item?: { id?: number } })?.item?.id).toBe(5);
    await sleepMs(1500); // nothing comes back to call again
    expect(ourCallsSince(seq).map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /atservicesrest/v1.0/Tickets/5',
    ]);
  });

  it('that cannot be delivered: a write calls Autotask exactly once and is dead-lettered with its result', async () => {
    const seq = mark();
    await gov.sendJobs([write('undeliverable-write', NOWHERE)]);
    const letter = await deadLetterOf('undeliverable-write');
    expect(letter).toMatchObject({
      reason: 'result-undeliverable',
      result: { jobId: 'undeliverable-write', status: 'succeeded', calls: 1 },
    });
    await sleepMs(1500);
    expect(ourCallsSince(seq).map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /atservicesrest/v1.0/Tickets',
    ]);
  });
});
