import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import { ATTR } from '#shared/jobs/queue.ts';
import type { JobResult } from '#shared/jobs/result.ts';

let gov: LocalGovernor;

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: { latencyScale: 0 },
    worker: { batchSize: 10, maxConcurrency: 1 },
  });
});

afterAll(async () => {
  await gov?.stop();
});

const valid = (jobId: string, path = '/Tickets/7') => ({
  jobId,
  connectionId: gov.connectionId,
  request: { method: 'GET' as const, path },
});

describe('bad input loses nothing', () => {
  it('dead-letters each malformed job with its reason while valid jobs in the same batch succeed', async () => {
    await gov.sendJobs([
      valid('good-1'),
      '{"jobId": "broken-json", ',
      JSON.stringify({ jobId: 'no-request', connectionId: gov.connectionId }),
      JSON.stringify({ ...valid('bad-priority'), priority: 'urgent' }),
      JSON.stringify(valid('bad-path', '/NoSuchEntity/1')),
      JSON.stringify(valid('bad-method-for-path', '/ThresholdInformation/query')),
      JSON.stringify({ ...valid('unknown-conn'), connectionId: 'nobody' }),
      JSON.stringify({ ...valid('expired'), expiresAt: '2020-01-01T00:00:00Z' }),
      valid('good-2', '/Companies/1'),
      JSON.stringify({
        ...valid('good-3', '/Tickets/query'),
        request: {
          method: 'POST',
          path: '/Tickets/query',
          body: { filter: [{ op: 'eq', field: 'id', value: 3 }] },
        },
      }),
    ]);
    const dead = new Map<string, { reason: string; error: string; body: string }>();
    const results = new Map<string, JobResult>();
    const deadline = Date.now() + 30_000;
    while ((dead.size < 7 || results.size < 3) && Date.now() < deadline) {
      for (const m of await gov.drain(gov.resources.queueUrls.deadLetter, 1)) {
        const body = m.Body ?? '';
        const id = /"jobId":\s*"([^"]+)"/.exec(body)?.[1] ?? 'unparseable';
        dead.set(id, {
          reason: m.MessageAttributes?.[ATTR.reason]?.StringValue ?? '',
          error: m.MessageAttributes?.[ATTR.error]?.StringValue ?? '',
          body,
        });
      }
      for (const m of await gov.drain(gov.resources.queueUrls.results)) {
        const r = JSON.parse(m.Body ?? '{}') as JobResult;
        results.set(r.jobId, r);
      }
    }
    expect(Object.fromEntries([...dead].map(([id, d]) => [id, d.reason]))).toEqual({
      'broken-json': 'invalid-json',
      'no-request': 'invalid-job',
      'bad-priority': 'invalid-job',
      'bad-path': 'invalid-path',
      'bad-method-for-path': 'invalid-path',
      'unknown-conn': 'unknown-connection',
      expired: 'expired',
    });
    expect(dead.get('no-request')?.error).toMatch(/request/);
    expect(dead.get('bad-path')?.error).toMatch(/NoSuchEntity/i);
    // the dead letter keeps the original body, so it can be fixed and redriven
    expect(dead.get('broken-json')?.body).toBe('{"jobId": "broken-json", ');
    expect([...results.keys()].sort()).toEqual(['good-1', 'good-2', 'good-3']);
    expect([...results.values()].every((r) => r.status === 'succeeded')).toBe(true);
    // nothing invalid reached Autotask
    expect(gov.simulator.calls({ source: 'ours' })).toHaveLength(3);
  });

  it('publishes a failed result, not a retry, for an Autotask 4xx', async () => {
    await gov.sendJobs([valid('missing-ticket', '/Tickets/987654321')]);
    let result: JobResult | undefined;
    const deadline = Date.now() + 15_000;
    while (!result && Date.now() < deadline) {
      const [m] = await gov.drain(gov.resources.queueUrls.results, 1);
      if (m) result = JSON.parse(m.Body ?? '{}') as JobResult;
    }
    expect(result?.status).toBe('failed');
    expect(result?.httpStatus).toBe(404);
    expect(result?.error?.kind).toBe('client');
  });

  it('retries a 5xx with backoff and succeeds without a duplicate result', async () => {
    gov.simulator.injectFault({
      match: { pathPrefix: '/atservicesrest/v1.0/Companies' },
      count: 1,
      kind: 'http500',
    });
    await gov.sendJobs([valid('flaky', '/Companies/2')]);
    let result: JobResult | undefined;
    const deadline = Date.now() + 20_000;
    while (!result && Date.now() < deadline) {
      const [m] = await gov.drain(gov.resources.queueUrls.results, 1);
      if (m) result = JSON.parse(m.Body ?? '{}') as JobResult;
    }
    expect(result?.status).toBe('succeeded');
    expect(result?.attempts).toBe(2);
  });
});
