/**
 * Autotask's thread limit on the budget item: each endpoint's in-flight requests are one map
 * attribute `t_<endpoint>` = {holder: lease expiry} (README "Threads"). A reservation write takes a
 * thread in the same write that reserves budget; these are the clauses it adds.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { joinCondition, n, threadAttr } from '#shared/budget/item.ts';
import type { BudgetSnapshot } from '#shared/budget/window.ts';

/** One of an endpoint's thread slots, held by one worker session until released or expired. */
export interface ThreadLease {
  connectionId: string;
  /** The endpoint's map attribute, `t_<endpoint>`. */
  attribute: string;
  holder: string;
  expiresAt: number;
}

/** A thread asked for with a reservation (Autotask allows `slots` = 3 in flight per endpoint). */
export interface ThreadRequest {
  endpoint: string;
  slots: number;
  leaseMs: number;
  holder: string;
  /** The thread this worker holds now: left in the same write when it moves to another endpoint. */
  held?: ThreadLease;
}

/** How to join an endpoint's in-flight map. */
export interface Slot {
  attribute: string;
  exists: boolean;
  /** Holders whose lease expired (their worker died): dropped in this write. */
  dead: string[];
}

/** The parts of an UpdateItem a reservation write is built from. */
export interface WriteClauses {
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
  sets: string[];
  removes: string[];
  conditions: string[];
}

/** How to join the endpoint's in-flight map, or undefined when it is full (as far as `snap` knows). */
export const slotFor = (snap: BudgetSnapshot, thread: ThreadRequest, now: number): Slot | undefined => {
  const attribute = threadAttr(thread.endpoint);
  const holders = snap.threads.get(attribute);
  if (!holders) return { attribute, exists: false, dead: [] };
  const dead: string[] = [];
  let live = 0;
  for (const [holder, expiry] of holders) {
    if (holder === thread.holder) continue;
    if (expiry < now) dead.push(holder);
    else live++;
  }
  return live < thread.slots ? { attribute, exists: true, dead } : undefined;
};

/**
 * Adds to `clauses` what takes `slot` for `thread` (creating the endpoint's map, or joining it while
 * it holds fewer than `slots` live entries, or renewing this worker's own entry) and what leaves the
 * thread it held on another endpoint; returns the lease it will hold if the write succeeds.
 */
export const takeSlot = (
  clauses: WriteClauses,
  connectionId: string,
  thread: ThreadRequest,
  slot: Slot,
  now: number,
): ThreadLease => {
  const { names, values, sets, removes, conditions } = clauses;
  const { holder, slots, leaseMs, held } = thread;
  const expiresAt = now + leaseMs;
  names['#t'] = slot.attribute;
  if (!slot.exists) {
    values[':joined'] = { M: { [holder]: n(expiresAt) } };
    sets.push('#t = :joined');
    conditions.push('attribute_not_exists(#t)');
  } else {
    names['#me'] = holder;
    values[':expires'] = n(expiresAt);
    sets.push('#t.#me = :expires');
    // Expired entries this copy knows of are dropped in the same write, whether or not another
    // writer dropped them first (then they no longer count towards the map's size).
    const dead = slot.dead.slice(0, slots);
    dead.forEach((holderId, i) => {
      names[`#dead${i}`] = holderId;
      conditions.push(`(attribute_not_exists(#t.#dead${i}) OR #t.#dead${i} < :now)`);
      removes.push(`#t.#dead${i}`);
    });
    conditions.push(`(attribute_exists(#t.#me) OR ${joinCondition(dead.length, slots, values)})`);
  }
  // Moving to another endpoint: leave the previous one's map in the same write.
  if (held && held.connectionId === connectionId && held.attribute !== slot.attribute) {
    names['#held'] = held.attribute;
    names['#me'] = holder;
    removes.push('#held.#me');
  }
  return { connectionId, attribute: slot.attribute, holder, expiresAt };
};
