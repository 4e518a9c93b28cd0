import { describe, expect, it } from 'vitest';
import { burstAllowance, underBurstCeiling } from '#shared/budget/bursts.ts';
import type { ReserveRequest } from '#shared/budget/store.ts';
import { emptySnapshot } from '#shared/budget/window.ts';
import { othersReserve } from '#shared/usage/threshold-sync.ts';

/** Autotask's scale: 10,000 an hour, a read a minute; ceilings 60 / 80 / 95 %. */
const autotask = { limit: 10_000, windowSeconds: 3600, ceilings: { bulk: 0.6, normal: 0.8, critical: 0.95 } };
const minute = 60_000;

describe("what the budget counts for other integrations' next period", () => {
  it('steady others: their next minute with a 1.5 margin', () => {
    // 2,000 an hour is 33.3 a minute
    expect(othersReserve(autotask, { othersNow: 2000, periodMs: minute })).toBe(50);
  });

  it('a rise they repeat within the window: the second largest rise, with a 1.5 margin', () => {
    const arrivals = [
      { at: 0, n: 400 },
      { at: 1, n: 900 },
      { at: 2, n: 100 },
    ];
    expect(othersReserve(autotask, { othersNow: 3000, periodMs: minute, arrivals })).toBe(600);
  });

  it('a one-off spike is not counted: the gap to the cap and the burst allowance take it', () => {
    const arrivals = [{ at: 0, n: 3000 }];
    expect(othersReserve(autotask, { othersNow: 3000, periodMs: minute, arrivals })).toBe(75);
  });

  it('never more than the room between the normal ceiling and the cap', () => {
    // a read every 40 minutes of others at 7,500 an hour would be 5,000 in the period
    expect(othersReserve(autotask, { othersNow: 7500, periodMs: 40 * minute })).toBe(2000);
  });
});

describe("other integrations' bursts: the ceilings stay that far below the cap", () => {
  const request = (priority: 'bulk' | 'normal' | 'critical'): ReserveRequest => ({
    connectionId: 'c',
    limit: 10_000,
    windowSeconds: 3600,
    ceiling: { bulk: 6000, normal: 8000, critical: 9500 }[priority],
    count: 1,
    priority,
  });
  const withBurst = (burst: number) => ({ ...emptySnapshot(0, 0), burst, burstUntil: 3_600_000 });

  it('the allowance is the largest rise between two reads still in the window', () => {
    expect(burstAllowance([], 3_600_000)).toEqual({ n: 0, until: 0 });
    // held until the largest leaves the window
    expect(
      burstAllowance(
        [
          { at: 0, n: 400 },
          { at: 1, n: 900 },
          { at: 2, n: 100 },
        ],
        3_600_000,
      ),
    ).toEqual({ n: 900, until: 3_600_001 });
  });

  it("a burst within a ceiling's gap to the cap costs that priority nothing", () => {
    expect(underBurstCeiling(request('normal'), withBurst(2000), 1000).ceiling).toBe(8000);
    expect(underBurstCeiling(request('bulk'), withBurst(2000), 1000).ceiling).toBe(6000);
    // the critical ceiling's gap is 500: a burst of 2,000 lowers it to 8,000
    expect(underBurstCeiling(request('critical'), withBurst(2000), 1000).ceiling).toBe(8000);
  });

  it('a larger burst lowers every ceiling above limit - burst, so a repeat of it stays under the cap', () => {
    for (const p of ['bulk', 'normal', 'critical'] as const) {
      const { ceiling } = underBurstCeiling(request(p), withBurst(3000), 1000);
      expect(ceiling).toBe(Math.min(request(p).ceiling, 7000));
      expect(ceiling + 3000).toBeLessThanOrEqual(10_000);
    }
    expect(underBurstCeiling(request('normal'), withBurst(12_000), 1000).ceiling).toBe(0);
  });

  it('lowers no ceiling once the burst has left the window', () => {
    expect(underBurstCeiling(request('critical'), withBurst(3000), 3_600_000).ceiling).toBe(9500);
  });
});
