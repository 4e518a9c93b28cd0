import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGovernor } from '#local/governor.ts';
import { ATTR } from '#shared/jobs/queue.ts';
import { call, quietConnection, sleepMs, startOperatorGovernor } from '../support/operators.ts';

// Issue 21, low findings: POST /jobs refuses the paths and methods Autotask does not have (as the
// worker does), and a body nested deeper than 64 levels is refused by POST /jobs (400, not 500) and
// dead-lettered by the worker as invalid-job before any reservation or call.

let gov: LocalGovernor;
let token: string;

beforeAll(async () => {
  ({ gov, token } = await startOperatorGovernor('intake', {
    ...quietConnection(6000, 60),
    syncIntervalMs: 0,
    worker: { batchSize: 10, maxConcurrency: 1, maxBatchingWindowSeconds: 0 },
  }));
});

afterAll(async () => {
  await gov?.stop();
});

const job = (jobId: string, method: string, path: string) => ({
  jobId,
  connectionId: gov.connectionId,
  request: { method, path },
});

/** A POST /Tickets job whose body nests `levels` deep, as text (JSON.stringify would overflow on it). */
const deepJob = (jobId: string, levels: number) =>
  `{"jobId":"${jobId}","connectionId":"${gov.connectionId}","request":{"method":"POST","path":"/Tickets","body":` +
  `${'{"a":'.repeat(levels - 1)}{"title":"x"}${'}'.repeat(levels - 1)}}}`;

const BAD = [
  ['no-entity', 'GET', '/NoSuchEntity/1', /unknown Autotask path "\/NoSuchEntity\/1"/],
  ['double-slash', 'GET', '//localhost/Tickets', /path "\/\/localhost\/Tickets" has an empty/],
  ['no-delete', 'DELETE', '/Companies/1', /DELETE is not allowed on Companies\/\{id\}/],
] as const;

describe('POST /jobs checks paths and methods against the Autotask API', () => {
  it.each(BAD)('refuses %s (%s %s) with 400 and the reason', async (jobId, method, path, reason) => {
    const answer = await call(gov, 'POST', '/jobs', { token, body: job(jobId, method, path) });
    expect(answer.status).toBe(400);
    expect(answer.json.rejected).toEqual([{ index: 0, jobId, error: expect.stringMatching(reason) }]);
  });

  it('queues the valid job of a request and rejects the bad ones (202)', async () => {
    const before = gov.simulator.calls().at(-1)?.seq ?? 0;
    const answer = await call(gov, 'POST', '/jobs', {
      token,
      body: [
        ...BAD.map(([jobId, method, path]) => job(jobId, method, path)),
        job('good', 'GET', '/Tickets/3'),
      ],
    });
    expect(answer.status).toBe(202);
    expect(answer.json.accepted).toEqual([{ index: 3, jobId: 'good', messageId: expect.any(String) }]);
    expect(answer.json.rejected.map((r: { jobId: string }) => r.jobId)).toEqual(BAD.map(([id]) => id));
    for (const [i, [, , , reason]] of BAD.entries()) expect(answer.json.rejected[i].error).toMatch(reason);
    // only the good one reaches Autotask
    const deadline = Date.now() + 15_000;
    while (gov.simulator.calls({ source: 'ours', sinceSeq: before }).length === 0 && Date.now() < deadline)
      await sleepMs(100);
    await sleepMs(500);
    expect(
      gov.simulator.calls({ source: 'ours', sinceSeq: before }).map((c) => `${c.method} ${c.path}`),
    ).toEqual(['GET /atservicesrest/v1.0/Tickets/3']);
  });
});

describe('a body nested 20,000 levels deep', () => {
  it('gets a 400 from POST /jobs with the reason, not a 500', async () => {
    const answer = await call(gov, 'POST', '/jobs', { token, raw: deepJob('deep-api', 20_000) });
    expect(answer.status).toBe(400);
    expect(answer.json.rejected).toEqual([
      { index: 0, jobId: 'deep-api', error: 'request.body: nested deeper than 64 levels' },
    ]);
  });

  it('sent straight to SQS, is dead-lettered as invalid-job with no Autotask call', async () => {
    const before = gov.simulator.calls().at(-1)?.seq ?? 0;
    await gov.sendJobs([deepJob('deep-sqs', 20_000)]);
    let letter: { reason?: string; error?: string } | undefined;
    const deadline = Date.now() + 20_000;
    while (!letter && Date.now() < deadline) {
      for (const m of await gov.drain(gov.resources.queueUrls.deadLetter, 1)) {
        if ((m.Body ?? '').startsWith('{"jobId":"deep-sqs"'))
          letter = {
            reason: m.MessageAttributes?.[ATTR.reason]?.StringValue,
            error: m.MessageAttributes?.[ATTR.error]?.StringValue,
          };
      }
    }
    expect(letter).toEqual({ reason: 'invalid-job', error: 'request.body: nested deeper than 64 levels' });
    expect(gov.simulator.calls({ source: 'ours', sinceSeq: before })).toEqual([]);
  });
});
