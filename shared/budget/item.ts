/**
 * The budget item's layout: its key, its attributes and how a copy of it is decoded (see
 * shared/budget/window.ts for the model, shared/budget/dynamo-budget.ts and item-store.ts for the writes).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Usage } from '#shared/budget/store.ts';
import {
  type BudgetSnapshot,
  emptySnapshot,
  type Geometry,
  othersAt,
  systemAt,
  usedAt,
} from '#shared/budget/window.ts';

export const key = (connectionId: string) => ({ pk: { S: `CONN#${connectionId}` }, sk: { S: 'BUDGET' } });
export const endAttr = (bucket: number) => `e${bucket}`;
export const othersAttr = (bucket: number) => `o${bucket}`;
/** Each endpoint's in-flight requests are one map attribute {holder: expiry}: joining it needs only
 *  `size(map) < 3` (no slot to pick and race for), and an expired holder is dropped by whoever sees it. */
export const threadAttr = (endpoint: string) => `t_${endpoint.replace(/[^A-Za-z0-9]/g, '_')}`;
/** Until when a critical job waits for one of the endpoint's threads: others neither take nor keep one. */
export const wantAttr = (endpoint: string) => `w_${endpoint.replace(/[^A-Za-z0-9]/g, '_')}`;
const HOUR_MS = 3_600_000;
export const hourOf = (at: number): number => Math.floor(at / HOUR_MS);
/** Per-hour counters on the budget item (README "Usage report"): calls per priority `h<hour>_<priority>`
 *  (and `_sync`), jobs throttled `t<hour>`, 429s `x<hour>`, other integrations `oh<hour>`, calls per
 *  endpoint `n<hour>_<endpoint>`. */
export const HOURLY_ATTRIBUTE = /^(h\d+_[a-z]+|t\d+|x\d+|oh\d+|n\d+_\w+)$/;
export const endpointAttr = (hour: number, endpoint: string) =>
  `n${hour}_${endpoint.replace(/[^A-Za-z0-9]/g, '_')}`;
export const n = (value: number): AttributeValue => ({ N: String(value) });

/**
 * Joining an endpoint's in-flight map without an entry of one's own: after the write it may hold at
 * most `slots` entries besides the `dead` expired ones the write removes, and those count only if
 * they are still there, i.e. size(map) < slots + (how many of them exist). Spelled out as "at least
 * j of them exist and size < slots + j" for each j (dead.length is at most `slots`).
 */
export const joinCondition = (
  dead: number,
  slots: number,
  values: Record<string, AttributeValue>,
): string => {
  const exists = (i: number) => `attribute_exists(#t.#dead${i})`;
  const clauses: string[] = [];
  for (let j = 0; j <= dead; j++) {
    values[`:room${j}`] = n(slots + j);
    if (j === 0) {
      clauses.push('size(#t) < :room0');
      continue;
    }
    const combos = combinations(dead, j).map((combo) => combo.map(exists).join(' AND '));
    const present =
      combos.length === 1
        ? combos[0]
        : `(${combos.map((c) => (c.includes(' AND ') ? `(${c})` : c)).join(' OR ')})`;
    clauses.push(`(size(#t) < :room${j} AND ${present})`);
  }
  return clauses.join(' OR ');
};

/** The j-element subsets of 0..n-1. */
const combinations = (n: number, j: number): number[][] => {
  if (j === 0) return [[]];
  const out: number[][] = [];
  for (let first = 0; first <= n - j; first++)
    for (const rest of combinations(n - first - 1, j - 1))
      out.push([first, ...rest.map((r) => r + first + 1)]);
  return out;
};

/** Every write that changes room or threads bumps the item's version (`#v` = 'v', `:one` = 1). */
export const BUMP = 'ADD #v :one';

export const removeClause = (names: string[]): string => (names.length ? ` REMOVE ${names.join(', ')}` : '');

/** Budget items outlive the window they describe by a comfortable margin, then DynamoDB deletes them. */
export const ttlFor = (g: Geometry, now: number): number => Math.ceil((now + 2 * g.windowMs) / 1000) + 3600;

export const usageOf = (snap: BudgetSnapshot, c: number): Usage => {
  const counted = usedAt(snap, c);
  const others = Math.min(counted, othersAt(snap, c));
  const system = systemAt(snap, c);
  return { total: counted + system, others, ours: counted - others + system, bucket: c };
};

export const decode = (
  item: Record<string, AttributeValue> | undefined,
  readAt: number,
  readBucket: number,
): BudgetSnapshot => {
  const snap = emptySnapshot(readAt, readBucket);
  if (!item) return snap;
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith('t_') && value.M) {
      const holders = new Map<string, number>();
      for (const [holder, expiry] of Object.entries(value.M)) holders.set(holder, Number(expiry.N));
      snap.threads.set(name, holders);
      continue;
    }
    if (value.N === undefined) continue;
    const num = Number(value.N);
    if (name === 'cum') snap.cum = num;
    else if (name === 'pre') snap.pre = num;
    else if (name === 'blockedUntil') snap.blockedUntil = num;
    else if (/^e\d+$/.test(name)) snap.ends.set(Number(name.slice(1)), num);
    else if (/^o\d+$/.test(name)) snap.others.set(Number(name.slice(1)), num);
    else if (/^s\d+$/.test(name)) snap.system.set(Number(name.slice(1)), num);
    else if (name === 'asleep') snap.asleep = num > 0;
    else if (name === 'burst') snap.burst = num;
    else if (name === 'burstUntil') snap.burstUntil = num;
    else if (name.startsWith('w_')) snap.criticalWants.set(name, num);
    else if (name === 'v') snap.version = num;
    else if (HOURLY_ATTRIBUTE.test(name)) snap.hourly.set(name, num);
  }
  return snap;
};
