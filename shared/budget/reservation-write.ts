/**
 * The reservation write (docs/budget.md): one conditional UpdateItem that adds the
 * request to the running total and the current bucket's end, counts it per hour (and per endpoint),
 * takes the endpoint's thread (shared/budget/threads.ts), writes throttle counts held in memory and
 * folds bucket attributes two windows old into `pre`. Pure: shared/budget/dynamo-budget.ts sends it.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  BUMP,
  endAttr,
  endpointAttr,
  hourOf,
  n,
  othersAttr,
  removeClause,
  ttlFor,
  wantAttr,
} from '#shared/budget/item.ts';
import type { ReserveRequest } from '#shared/budget/store.ts';
import { type Slot, type ThreadLease, takeSlot } from '#shared/budget/threads.ts';
import { type BudgetSnapshot, type Geometry, prefix, SPAN } from '#shared/budget/window.ts';

/** Old bucket entries are pruned (folded into `pre`) once they are two windows old. */
const PRUNE_AGE = 2 * SPAN;
const PRUNE_BATCH = 40;

export interface ReservationUpdate {
  update: {
    UpdateExpression: string;
    ConditionExpression: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues: Record<string, AttributeValue>;
  };
  /** The thread lease the worker holds if the write succeeds. */
  lease: ThreadLease | undefined;
}

/**
 * The write reserving `request.count` in bucket `c`, built from the copy `snap` read at or before
 * `now`; `throttled` jobs refused from the copy are counted in the same write.
 */
export const reservationUpdate = (
  request: ReserveRequest,
  g: Geometry,
  snap: BudgetSnapshot,
  c: number,
  now: number,
  slot: Slot | undefined,
  throttled: number,
): ReservationUpdate => {
  const bound = request.ceiling - request.count + prefix(snap, c - SPAN);
  const names: Record<string, string> = {
    '#end': endAttr(c),
    '#ttl': 'ttl',
    '#v': 'v',
    '#calls': `h${hourOf(now)}_${request.priority ?? 'normal'}`,
  };
  const values: Record<string, AttributeValue> = {
    ':zero': n(0),
    ':k': n(request.count),
    ':bound': n(bound),
    ':now': n(now),
    ':ttl': n(ttlFor(g, now)),
    ':one': n(1),
    ':burst': n(snap.burst),
  };
  const sets = [
    'cum = if_not_exists(cum, :zero) + :k',
    '#end = if_not_exists(cum, :zero) + :k',
    '#ttl = :ttl',
    '#calls = if_not_exists(#calls, :zero) + :k',
  ];
  if (request.thread) {
    // calls per endpoint and hour: the alert e-mails name the busiest endpoints
    names['#endpoint'] = endpointAttr(hourOf(now), request.thread.endpoint);
    sets.push('#endpoint = if_not_exists(#endpoint, :zero) + :k');
  }
  const conditions = [
    '(attribute_not_exists(cum) OR cum <= :bound)',
    '(attribute_not_exists(blockedUntil) OR blockedUntil <= :now)',
    // the ceiling was lowered for this burst allowance: a larger one set since means read again
    '(attribute_not_exists(burst) OR burst <= :burst OR burstUntil <= :now)',
  ];
  if (!request.allowWhileAsleep) conditions.push('(attribute_not_exists(asleep) OR asleep = :zero)');
  if (request.thread && request.priority !== 'critical') {
    // a critical job waits for this endpoint's threads: nobody else takes or keeps one meanwhile
    names['#want'] = wantAttr(request.thread.endpoint);
    conditions.push('(attribute_not_exists(#want) OR #want < :now)');
  }
  if (throttled > 0) {
    names['#throttled'] = `t${hourOf(now)}`;
    values[':throttled'] = n(throttled);
    sets.push('#throttled = if_not_exists(#throttled, :zero) + :throttled');
  }
  const threadRemoves: string[] = [];
  const lease =
    slot && request.thread
      ? takeSlot(
          { names, values, sets, removes: threadRemoves, conditions },
          request.connectionId,
          request.thread,
          slot,
          now,
        )
      : undefined;
  const removes = pruneList(snap, c);
  if (removes.length > 0) {
    removes.forEach((attribute, i) => {
      names[`#old${i}`] = attribute;
    });
    const folded = Math.max(
      snap.pre,
      ...removes.filter((a) => a.startsWith('e')).map((a) => snap.ends.get(Number(a.slice(1))) ?? 0),
    );
    values[':pre'] = n(folded);
    sets.push('pre = :pre');
    conditions.push('(attribute_not_exists(pre) OR pre <= :pre)');
  }
  return {
    update: {
      UpdateExpression: `SET ${sets.join(', ')}${removeClause([...removes.map((_, i) => `#old${i}`), ...threadRemoves])} ${BUMP}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
    lease,
  };
};

const pruneList = (snap: BudgetSnapshot, c: number): string[] => {
  const old = [...snap.ends.keys(), ...snap.others.keys(), ...snap.system.keys()].filter(
    (b) => b < c - PRUNE_AGE,
  );
  if (old.length < PRUNE_BATCH / 2) return [];
  const buckets = [...new Set(old)].sort((a, b) => a - b).slice(0, PRUNE_BATCH / 2);
  const list: string[] = [];
  for (const b of buckets) {
    if (snap.ends.has(b)) list.push(endAttr(b));
    if (snap.others.has(b)) list.push(othersAttr(b));
    if (snap.system.has(b)) list.push(`s${b}`);
  }
  return list;
};
