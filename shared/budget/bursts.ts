/**
 * Other integrations' bursts (docs/budget.md, "Other integrations' bursts"), as pure decisions: how
 * far below the cap the ceilings stay (the sync sets it on the budget item) and what that does to a
 * reservation's ceiling (the worker applies it).
 */
import type { ReserveRequest } from '#shared/budget/store.ts';
import type { BudgetSnapshot } from '#shared/budget/window.ts';

/** A rise in other integrations' usage between two reads, and when it was read. */
export interface Arrival {
  at: number;
  n: number;
}

/**
 * How far below the cap every ceiling must stay: the largest rise of others' usage between two reads
 * seen within the last window (in time, whatever the read rate: a burst is forgotten when it leaves
 * the window, as Autotask forgets it). The gap between a priority's ceiling and the cap absorbs a
 * burst up to its size, so the same burst is not guarded against twice: a ceiling is lowered only
 * by what the burst exceeds it by (`underBurstCeiling`). At Autotask's scale (10,000 an hour,
 * ceilings 6,000 / 8,000 / 9,500) a one-off burst of 2,000 costs bulk and normal work nothing; one of
 * 3,000 lowers the normal and critical ceilings to 7,000 for the hour it is remembered.
 */
export const burstAllowance = (
  arrivals: readonly Arrival[],
  windowMs: number,
): { n: number; until: number } => {
  const n = Math.max(0, ...arrivals.map((a) => a.n));
  // the largest burst leaves the window then; a smaller one still in it is held again by the next read
  const until = Math.max(0, ...arrivals.filter((a) => a.n === n).map((a) => a.at + windowMs));
  return { n, until: n > 0 ? until : 0 };
};

/**
 * A burst of other integrations as large as the largest seen in the window (`snap.burst`, set by the
 * sync) must still fit under the cap: no priority's ceiling reaches above `limit - burst` until that
 * burst leaves the window (`snap.burstUntil`). The gap between a ceiling and the cap absorbs smaller
 * bursts, so a burst costs a priority nothing until it is larger than that gap.
 */
export const underBurstCeiling = (
  request: ReserveRequest,
  snap: BudgetSnapshot,
  now: number,
): ReserveRequest =>
  snap.burst > 0 && snap.burstUntil > now && request.limit - snap.burst < request.ceiling
    ? { ...request, ceiling: Math.max(0, request.limit - snap.burst) }
    : request;
