import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import { DynamoBudgetStore } from '#shared/budget/dynamo-budget.ts';
import { bucketOf, bucketStart, geometry, SPAN } from '#shared/budget/window.ts';
import { PRIORITIES, type Priority } from '#shared/jobs/schema.ts';
import { addConnection, collector } from '../support/governor-helpers.ts';

// limit 40 per rolling minute: critical 38, normal 32, bulk 24; buckets of 1 s
const LIMIT = 40;
const WINDOW_SECONDS = 60;
// each priority has one job per endpoint: no endpoint ever needs more than Autotask's 3 threads
const ENDPOINTS = [
  'Tickets',
  'Companies',
  'Contacts',
  'Projects',
  'Contracts',
  'Resources',
  'Quotes',
  'Roles',
];
const PER_PRIORITY = ENDPOINTS.length;
let gov: LocalGovernor;

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: { limit: 10_000, windowSeconds: 60, latencyScale: 0, baseLatencyMs: 5 },
    // one job per invocation and a poller for each: every job is back in a worker when it is due, so
    // the times measured are the times the governor gave them, not the pollers' queueing
    worker: { batchSize: 1, maxConcurrency: 30, maxBatchingWindowSeconds: 0 },
    syncIntervalMs: 0,
  });
});

afterAll(async () => {
  await gov?.stop();
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('fair resumption', () => {
  it('brings waiting jobs back in priority order, spread inside the bucket where room opens and no later', async () => {
    await addConnection(gov, 'fair', { limit: LIMIT, windowSeconds: WINDOW_SECONDS });
    const g = geometry(WINDOW_SECONDS);
    // the window is full up to the critical ceiling, all booked in one bucket (earlier calls of ours):
    // every priority's room opens when that bucket ages out, one window later
    const budget = new DynamoBudgetStore(
      new DynamoDBClient({
        region: gov.emulators.region,
        endpoint: gov.emulators.endpoints.dynamodb,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
      gov.resources.tableName,
    );
    const filled = await budget.reserve({
      connectionId: 'fair',
      limit: LIMIT,
      windowSeconds: WINDOW_SECONDS,
      ceiling: Math.floor(LIMIT * 0.95),
      count: Math.floor(LIMIT * 0.95),
      priority: 'critical',
    });
    expect(filled.granted).toBe(true);
    const roomAt = bucketStart(g, (filled.granted ? filled.bucket : 0) + SPAN);
    expect(bucketOf(g, Date.now())).toBeLessThan(bucketOf(g, roomAt));

    // sent in the reverse of the order they should come back in
    const c = collector(gov);
    const order: Priority[] = ['bulk', 'normal', 'critical'];
    const jobs = order.flatMap((priority, p) =>
      Array.from({ length: PER_PRIORITY }, (_, i) => ({
        jobId: `fair-${priority}-${i}`,
        connectionId: 'fair',
        priority,
        request: { method: 'GET' as const, path: `/${ENDPOINTS[i]}/${1 + p}` },
      })),
    );
    const sentAt = Date.now();
    await gov.sendJobs(jobs);
    await c.until(() => c.results.size >= jobs.length, roomAt - Date.now() + 15_000);
    expect(c.results.size).toBe(jobs.length);
    expect([...c.results.values()].every((r) => r.status === 'succeeded')).toBe(true);
    expect(c.dead.size).toBe(0);

    const calls = gov.simulator.calls({ source: 'ours' }).filter((call) => call.at >= sentAt);
    expect(calls.filter((call) => call.status === 429)).toHaveLength(0);
    const byPath = new Map(calls.map((call) => [call.path.replace(/^.*\/v1\.0/i, ''), call.at]));
    const at = Object.fromEntries(
      PRIORITIES.map((priority) => {
        const p = order.indexOf(priority);
        return [priority, ENDPOINTS.map((endpoint) => byPath.get(`/${endpoint}/${1 + p}`) as number)];
      }),
    ) as Record<Priority, number[]>;
    const all = Object.values(at).flat();
    expect(all.every((t) => t !== undefined)).toBe(true);
    // every job waited: none went out before its room opened
    expect(Math.min(...all)).toBeGreaterThanOrEqual(roomAt);
    // and none later than the bucket in which room opened (its jitter) plus the trip back from the
    // delay queue: nothing sent them to a later bucket or a fixed backoff
    expect(Math.max(...all)).toBeLessThanOrEqual(roomAt + g.bucketMs + 1_500);
    // critical first, then normal, then bulk: each band about a third of the bucket
    expect(median(at.normal) - median(at.critical)).toBeGreaterThanOrEqual(g.bucketMs / 6);
    expect(median(at.bulk) - median(at.normal)).toBeGreaterThanOrEqual(g.bucketMs / 6);
    // spread with jitter inside each band, not all at the same moment
    for (const priority of PRIORITIES)
      expect(Math.max(...at[priority]) - Math.min(...at[priority])).toBeGreaterThanOrEqual(g.bucketMs / 10);
  }, 120_000);
});
