/**
 * Issue 22: states change on what Autotask reported, never on the budget's estimate; and what other
 * integrations did is remembered for one window of time, as Autotask remembers it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';

const LIMIT = 6000; // the sync may read every 100 ms (2 % of the cap per window)
const WINDOW_SECONDS = 12;
let gov: LocalGovernor;

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, latencyScale: 0 },
    connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS },
    syncIntervalMs: 0, // driven by hand
  });
});

afterAll(async () => {
  await gov?.stop();
});

const budget = async () => {
  const { dynamo } = await import('#shared/aws/clients.ts');
  const { DynamoBudgetStore } = await import('#shared/budget/dynamo-budget.ts');
  return new DynamoBudgetStore(dynamo, gov.resources.tableName);
};
const state = async () => {
  const { dynamo } = await import('#shared/aws/clients.ts');
  const { DynamoStateStore } = await import('#shared/connections/state-store.ts');
  return (await new DynamoStateStore(dynamo, gov.resources.tableName).get(gov.connectionId)).state;
};
const statusOf = async () => {
  const token = await gov.createToken('facts-test', 'viewer');
  const res = await fetch(`${gov.apiUrl}/connections/${gov.connectionId}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return (await res.json()) as {
    usage: { burstAllowance: number; ceilings: Record<'bulk' | 'normal' | 'critical', { requests: number }> };
  };
};
const sync = async () => {
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the sync's next turn (5 buckets below 25 %)
  return gov.syncNow();
};

describe('facts decide states, and bursts are forgotten in time', () => {
  it('does not sleep on its own estimate when the sync has no room to read: the state holds', async () => {
    // the budget believes the window is full (e.g. a reserve for others' bursts); Autotask counts nothing
    await (await budget()).addOthers(gov.connectionId, WINDOW_SECONDS, LIMIT);
    expect(gov.simulator.windowTotal()).toBe(0);
    await sync();
    await sync();
    const s = await state();
    expect(s.state).toBe('awake');
    expect(s.transitions).toEqual([]);
    // nothing was read: no ThresholdInformation request went out
    expect(gov.simulator.calls({ source: 'ours' })).toEqual([]);
    // let the estimate age out before the next test
    await new Promise((resolve) => setTimeout(resolve, WINDOW_SECONDS * 1000 + 500));
  }, 30_000);

  it("keeps the ceilings a neighbour's burst below the cap while it is in the window, and gives the room back when it leaves", async () => {
    await sync(); // a first reading: nobody else
    gov.simulator.addOtherCalls(2000);
    await sync();
    const store = await budget();
    const during = await store.usage(gov.connectionId, WINDOW_SECONDS);
    // the 2,000 are counted (with the steady share expected by the next read), the burst is not
    // counted again as usage: it becomes the allowance that keeps every ceiling 2,000 below the cap
    expect(during.others).toBeGreaterThanOrEqual(2000);
    expect(during.others).toBeLessThan(2000 + 100);
    const snap = await store.snapshot(gov.connectionId, WINDOW_SECONDS);
    expect(snap.burst).toBe(2000);
    const status = await statusOf();
    expect(status.usage.burstAllowance).toBe(2000);
    // the gaps between normal (4,800) or critical (5,700) and the cap are smaller than the burst:
    // both are lowered to 4,000; bulk (3,600) keeps its ceiling, its gap absorbs the burst
    expect(status.usage.ceilings.normal.requests).toBe(4000);
    expect(status.usage.ceilings.critical.requests).toBe(4000);
    expect(status.usage.ceilings.bulk.requests).toBe(3600);
    // the burst leaves Autotask's window (and the budget's): the next reading holds it no longer
    await new Promise((resolve) => setTimeout(resolve, WINDOW_SECONDS * 1000 + 500));
    expect(gov.simulator.windowTotal()).toBeLessThan(10);
    await sync();
    const after = await store.usage(gov.connectionId, WINDOW_SECONDS);
    expect(after.others).toBeLessThan(50);
    expect((await store.snapshot(gov.connectionId, WINDOW_SECONDS)).burst).toBe(0);
    expect((await statusOf()).usage.ceilings.critical.requests).toBe(5700);
    // and every transition on the way cites a total Autotask reported, with when
    for (const t of (await state()).transitions) expect(t.reading?.at, t.reason).toBeGreaterThan(0);
  }, 40_000);
});
