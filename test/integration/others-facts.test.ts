/**
 * Issue 22: states change on what Autotask reported, never on the budget's estimate; and what other
 * integrations did is remembered for one window of time, as Autotask remembers it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';

const LIMIT = 6000; // the sync may read every 200 ms (1 % of the cap per window)
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

  it("holds room for a neighbour's burst while it is in the window, and gives it back when it leaves", async () => {
    await sync(); // a first reading: nobody else
    gov.simulator.addOtherCalls(2000);
    await sync();
    const during = await (await budget()).usage(gov.connectionId, WINDOW_SECONDS);
    // 2,000 counted, plus room for another such burst: 1.5 x 2,000, at most the 1,200 between the
    // normal ceiling and the cap (which absorbs a bigger one)
    expect(during.others).toBe(2000 + 1200);
    // the burst leaves Autotask's window (and the budget's): the next reading must not hold it again
    await new Promise((resolve) => setTimeout(resolve, WINDOW_SECONDS * 1000 + 500));
    expect(gov.simulator.windowTotal()).toBeLessThan(10);
    await sync();
    const after = await (await budget()).usage(gov.connectionId, WINDOW_SECONDS);
    expect(after.others).toBeLessThan(50);
    // and every transition on the way cites a total Autotask reported, with when
    for (const t of (await state()).transitions) expect(t.reading?.at, t.reason).toBeGreaterThan(0);
  }, 40_000);
});
