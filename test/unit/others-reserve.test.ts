import { describe, expect, it } from 'vitest';
import { othersReserve } from '#shared/usage/threshold-sync.ts';

/** Autotask's scale: 10,000 an hour, a read a minute; ceilings 60 / 80 / 95 %. */
const autotask = { limit: 10_000, windowSeconds: 3600, ceilings: { bulk: 0.6, normal: 0.8, critical: 0.95 } };
const minute = 60_000;

describe("the reserve held for other integrations' bursts", () => {
  it('steady others: their next minute with a 1.5 margin', () => {
    // 2,000 an hour is 33.3 a minute
    expect(othersReserve(autotask, { othersNow: 2000, periodMs: minute, arrivals: [] })).toBe(50);
  });

  it('a burst seen in the window: 1.5x the largest rise between two reads', () => {
    const arrivals = [
      { at: 0, n: 400 },
      { at: 1, n: 900 },
      { at: 2, n: 100 },
    ];
    expect(othersReserve(autotask, { othersNow: 3000, periodMs: minute, arrivals })).toBe(1350);
  });

  it('never more than the room between the normal ceiling and the cap, which absorbs a bigger burst', () => {
    const arrivals = [{ at: 0, n: 7000 }];
    expect(othersReserve(autotask, { othersNow: 7500, periodMs: minute, arrivals })).toBe(2000);
  });
});
