import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import type { JobResult } from '#shared/jobs/result.ts';

const LIMIT = 40;
const WINDOW_SECONDS = 15;
const CEILING = Math.floor(LIMIT * 0.8); // normal priority
const JOBS = 3 * CEILING;
let gov: LocalGovernor;

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, latencyScale: 0.02, baseLatencyMs: 20 },
    connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS },
    worker: { batchSize: 10, maxConcurrency: 5 },
    syncIntervalMs: 0, // no other integrations here: the sync has its own tests
  });
});

afterAll(async () => {
  await gov?.stop();
});

describe('the governed pipeline on the local stack', () => {
  it('runs 3x the ceiling of jobs with no 429, never more than the ceiling in a rolling window, and waiters return when room opens', async () => {
    const jobs = Array.from({ length: JOBS }, (_, i) => ({
      jobId: `e2e-${i}`,
      connectionId: gov.connectionId,
      request: { method: 'GET' as const, path: `/Tickets/${1 + i}` },
    }));
    await gov.sendJobs(jobs);
    const results = new Map<string, JobResult>();
    const deadline = Date.now() + 120_000;
    while (results.size < JOBS && Date.now() < deadline) {
      for (const m of await gov.drain(gov.resources.queueUrls.results, 1)) {
        const result = JSON.parse(m.Body ?? '{}') as JobResult;
        results.set(result.jobId, result);
      }
    }
    expect(results.size).toBe(JOBS);
    expect([...results.values()].every((r) => r.status === 'succeeded' && r.httpStatus === 200)).toBe(true);
    expect(
      [...results.values()].every((r) => (r.response as { item?: { id?: number } }).item?.id !== undefined),
    ).toBe(true);

    const calls = gov.simulator.calls({ source: 'ours' });
    expect(calls.filter((c) => c.status === 429)).toHaveLength(0);
    expect(calls).toHaveLength(JOBS);
    expect(gov.simulator.maxInRollingWindow({ source: 'ours' })).toBeLessThanOrEqual(CEILING);

    const firstCall = Math.min(...calls.map((c) => c.at));
    const lastDone = Math.max(...[...results.values()].map((r) => Date.parse(r.completedAt)));
    const allowedMs = (JOBS / CEILING - 1) * WINDOW_SECONDS * 1000 * 1.1 + 30_000;
    expect(lastDone - firstCall).toBeLessThanOrEqual(allowedMs);
    // and not by luck: two thirds of the jobs had to wait for the window to roll
    expect(
      [...results.values()].filter((r) => r.waitedMs >= WINDOW_SECONDS * 1000 * 0.9).length,
    ).toBeGreaterThanOrEqual(JOBS - CEILING - 2);
    expect(await gov.drain(gov.resources.queueUrls.deadLetter)).toHaveLength(0);
  }, 150_000);
});
