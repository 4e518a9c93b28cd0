import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';

let gov: LocalGovernor;
const LIMIT = 6000; // syncs may spend 2 % of the cap (every 0.5 s): they read once a bucket, 1 s, here
const WINDOW_SECONDS = 60; // a "minute" (bucket) is 1 s

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, latencyScale: 0 },
    connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS },
    syncIntervalMs: 0, // driven by hand below
  });
});

afterAll(async () => {
  await gov?.stop();
});

const syncNow = async () => {
  const { handler } = await import('#functions/sync/handler.ts');
  return handler({} as never, {} as never) as Promise<{ synced: number }>;
};
const budget = async () => {
  const { dynamo } = await import('#shared/aws/clients.ts');
  const { DynamoBudgetStore } = await import('#shared/budget/dynamo-budget.ts');
  return new DynamoBudgetStore(dynamo, gov.resources.tableName);
};

describe('other integrations count (ThresholdInformation sync)', () => {
  it('feeds other integrations usage into the budget, reserves and counts its own call, and runs once per period', async () => {
    gov.simulator.addOtherCalls(2100); // 35 % of the cap used by someone else
    const first = await syncNow();
    expect(first.synced).toBe(1);
    // a second run within the same period is refused by the claim: no second ThresholdInformation call
    expect((await syncNow()).synced).toBe(0);
    const thresholdCalls = gov.simulator
      .calls({ source: 'ours' })
      .filter((c) => /ThresholdInformation/i.test(c.path));
    expect(thresholdCalls).toHaveLength(1);

    const usage = await (await budget()).usage(gov.connectionId, WINDOW_SECONDS);
    expect(usage.ours).toBe(1); // the sync's own call was reserved
    // 2100 seen, plus what others will likely add before the next sync (rate x period x 1.5 = 53)
    expect(usage.others).toBe(2100 + 53);

    // the next sync only adds what is new
    await new Promise((resolve) => setTimeout(resolve, 1100));
    gov.simulator.addOtherCalls(500);
    expect((await syncNow()).synced).toBe(1);
    const after = await (await budget()).usage(gov.connectionId, WINDOW_SECONDS);
    // ... with their steady share until the next read (1.5 x 2,600 x period / window); the jump is
    // not counted again as usage but keeps every ceiling 500 below the cap while it is in the window
    expect(after.others).toBe(2600 + Math.ceil((1.5 * 2600 * 1000) / (WINDOW_SECONDS * 1000)));
    expect(after.ours).toBe(2);
    expect((await (await budget()).snapshot(gov.connectionId, WINDOW_SECONDS)).burst).toBe(500);
  });

  it('runs concurrent syncs of one connection one at a time', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = gov.simulator.calls({ source: 'ours' }).length;
    const results = await Promise.all(Array.from({ length: 8 }, () => syncNow()));
    expect(results.reduce((sum, r) => sum + r.synced, 0)).toBe(1);
    expect(gov.simulator.calls({ source: 'ours' }).length - before).toBe(1);
  });

  it('treats a 429 to its own read like a worker does: counts it, blocks the window, sleeps', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    gov.simulator.addOtherCalls(LIMIT); // the database is at its cap: Autotask answers 429
    const before = Date.now();
    expect((await syncNow()).synced).toBe(0);
    const refused = gov.simulator.calls({ source: 'ours' }).filter((c) => c.outcome === 'throttled');
    expect(refused.map((c) => c.path)).toEqual([expect.stringMatching(/ThresholdInformation/i)]);
    const { hourOf } = await import('#shared/budget/item.ts');
    const snap = await (await budget()).snapshot(gov.connectionId, WINDOW_SECONDS);
    expect(snap.hourly.get(`x${hourOf(Date.now())}`)).toBe(1);
    // full until the current bucket (1 s here) ends: nobody reserves meanwhile
    expect(snap.blockedUntil).toBeGreaterThan(before);
    expect(snap.blockedUntil).toBeLessThanOrEqual(Date.now() + 1000);
    const { dynamo } = await import('#shared/aws/clients.ts');
    const { DynamoStateStore } = await import('#shared/connections/state-store.ts');
    const { state } = await new DynamoStateStore(dynamo, gov.resources.tableName).get(gov.connectionId);
    expect(state.transitions.at(-1)).toMatchObject({ to: 'asleep', who: 'sync' });
  });

  it('syncs every 5 buckets below 25 % of the cap', async () => {
    const { syncPeriodMs } = await import('#shared/usage/threshold-sync.ts');
    expect(syncPeriodMs({ limit: 10_000, windowSeconds: 3600 }, 2_000)).toBe(300_000);
    expect(syncPeriodMs({ limit: 10_000, windowSeconds: 3600 }, 2_600)).toBe(60_000);
    // and syncs never spend more than 2 % of a small cap: 0.8 reads per 15 s window
    expect(syncPeriodMs({ limit: 40, windowSeconds: 15 }, 30)).toBe(18_750);
  });
});
