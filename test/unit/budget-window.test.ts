import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  bucketStart,
  emptySnapshot,
  geometry,
  inTail,
  nextRoom,
  othersAt,
  prefix,
  SPAN,
  trustworthyAt,
  usedAt,
} from '#shared/budget/window.ts';

const snapshot = (cum: number, ends: Array<[number, number]>, others: Array<[number, number]> = []) => {
  const s = emptySnapshot(0, 1000);
  s.cum = cum;
  for (const [b, e] of ends) s.ends.set(b, e);
  for (const [b, o] of others) s.others.set(b, o);
  return s;
};

describe('rolling window geometry', () => {
  it('cuts a window into 60 buckets and keeps a quiet tail at the end of each', () => {
    const g = geometry(3600);
    expect(g.bucketMs).toBe(60_000);
    expect(g.tailMs).toBe(2000);
    expect(bucketOf(g, 59_999)).toBe(0);
    expect(bucketOf(g, 60_000)).toBe(1);
    expect(bucketStart(g, 5)).toBe(300_000);
    expect(inTail(g, 57_999)).toBe(false);
    expect(inTail(g, 58_000)).toBe(true);
  });

  it('handles windows whose bucket width is not a whole number of milliseconds', () => {
    const g = geometry(10); // 166.67 ms buckets
    for (let b = 0; b < 200; b++) {
      expect(bucketOf(g, bucketStart(g, b))).toBe(b);
      expect(bucketOf(g, bucketStart(g, b + 1) - 1)).toBe(b);
    }
    expect(g.tailMs).toBe(50);
  });
});

describe('window usage from running totals', () => {
  it('counts the current bucket plus the 60 before it', () => {
    // 10 requests in bucket 100, 5 in bucket 130, 7 in bucket 161
    const s = snapshot(22, [
      [100, 10],
      [130, 15],
      [161, 22],
    ]);
    expect(usedAt(s, 160)).toBe(22); // bucket 100 is still inside 100..160
    expect(usedAt(s, 161)).toBe(12); // bucket 100 aged out
    expect(usedAt(s, 191)).toBe(7);
    expect(usedAt(s, 300)).toBe(0);
    expect(prefix(s, 99)).toBe(0);
    expect(prefix(s, 129)).toBe(10);
  });

  it('uses the folded prefix for pruned buckets', () => {
    const s = snapshot(30, [[200, 30]]);
    s.pre = 20;
    expect(usedAt(s, 200)).toBe(10);
  });

  it('sums other integrations only inside the window', () => {
    const s = snapshot(
      50,
      [[10, 50]],
      [
        [5, 3],
        [10, 4],
      ],
    );
    expect(othersAt(s, 65)).toBe(7);
    expect(othersAt(s, 66)).toBe(4);
    expect(othersAt(s, 71)).toBe(0);
  });

  it('trusts a cached copy only once it saw the oldest bucket closed', () => {
    const s = snapshot(0, []);
    s.readBucket = 100;
    expect(trustworthyAt(s, 100 + SPAN - 1)).toBe(true);
    expect(trustworthyAt(s, 100 + SPAN)).toBe(false);
  });
});

describe('when room opens', () => {
  it('is the first bucket in which enough of the window has aged out', () => {
    // ceiling 20: 10 in bucket 100, 10 in bucket 110; at bucket 120 the window is full
    const s = snapshot(20, [
      [100, 10],
      [110, 20],
    ]);
    expect(nextRoom(s, 120, 1, 20)).toBe(161);
    expect(nextRoom(s, 120, 11, 20)).toBe(171);
    expect(nextRoom(s, 120, 21, 20)).toBeUndefined();
  });

  it('queues later waiters behind the ones already promised the same room, window after window', () => {
    const s = snapshot(20, [
      [100, 10],
      [110, 20],
    ]);
    expect(nextRoom(s, 120, 1, 20, new Map([[161, 10]]))).toBe(171);
    // both freed slots promised: the next room is when the first promises age out again
    expect(
      nextRoom(
        s,
        120,
        1,
        20,
        new Map([
          [161, 10],
          [171, 10],
        ]),
      ),
    ).toBe(222);
    expect(
      nextRoom(
        s,
        120,
        5,
        20,
        new Map([
          [161, 10],
          [171, 10],
          [222, 18],
        ]),
      ),
    ).toBe(283);
  });
});
