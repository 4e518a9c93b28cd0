import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import type { JobInput } from '#shared/jobs/schema.ts';
import { collector } from '../support/governor-helpers.ts';
import { call, sleepMs } from '../support/operators.ts';

// Critical jobs have a lane of their own: POST /jobs puts them on the critical queue, which the worker
// consumes beside the jobs queue, so they do not wait in line behind a backlog of normal work.
let gov: LocalGovernor;
let token: string;

beforeAll(async () => {
  gov = await startLocalGovernor({
    // every request takes 40 ms: four workers need about 10 s for the backlog
    simulator: { limit: 10_000, windowSeconds: 3600, latencyScale: 0, baseLatencyMs: 40 },
    worker: { maxConcurrency: 4 },
    syncIntervalMs: 0,
  });
  token = await gov.createToken('critical-lane', 'jobs');
});

afterAll(async () => {
  await gov?.stop();
});

const ENDPOINTS = ['Tickets', 'Companies', 'Contacts', 'Projects', 'Contracts'];
const job = (jobId: string, i: number, priority: JobInput['priority']): JobInput => ({
  jobId,
  connectionId: gov.connectionId,
  priority,
  request: { method: 'GET', path: `/${ENDPOINTS[i % ENDPOINTS.length]}/${(i % 9) + 1}` },
});

describe('the critical lane', () => {
  it('runs critical jobs posted during a normal backlog within seconds, not after the backlog', async () => {
    const results = collector(gov);
    const backlog = Array.from({ length: 600 }, (_, i) => job(`backlog-${i}`, i, 'normal'));
    await gov.sendJobs(backlog);
    await sleepMs(1_000);
    const critical = Array.from({ length: 10 }, (_, i) => job(`urgent-${i}`, i, 'critical'));
    const posted = await call(gov, 'POST', '/jobs', { token, body: critical });
    expect(posted.status).toBe(202);
    expect(posted.json.accepted).toHaveLength(10);
    const postedAt = Date.now();

    await results.until(() => critical.every((j) => results.results.has(j.jobId)), 30_000);
    const criticalDone = Math.max(
      ...critical.map((j) => results.results.get(j.jobId)?.receivedAt ?? Infinity),
    );
    const normalDoneByThen = backlog.filter((j) => results.results.has(j.jobId)).length;
    for (const j of critical) {
      const r = results.results.get(j.jobId);
      expect(r?.status).toBe('succeeded');
      // from its arrival on the critical queue to its result
      expect(r?.waitedMs).toBeLessThan(3_000);
    }
    expect(criticalDone - postedAt).toBeLessThan(4_000);
    // the backlog was far from done when the last critical job ended: they did not queue behind it
    expect(normalDoneByThen).toBeLessThan(backlog.length / 2);

    await results.until(() => backlog.every((j) => results.results.has(j.jobId)), 120_000);
    expect(backlog.filter((j) => results.results.get(j.jobId)?.status !== 'succeeded')).toEqual([]);
  }, 180_000);
});
