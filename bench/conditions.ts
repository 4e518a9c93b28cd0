import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export interface FailedInput {
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
}

/**
 * Which clause of a budget write's condition failed, judged from the item DynamoDB returned with
 * the failure (bench-side only: it explains the "failed" requests in the DynamoDB split).
 */
export const failedCondition = (
  input: FailedInput,
  item: Record<string, AttributeValue>,
): string | undefined => {
  const cond = input.ConditionExpression;
  if (!cond) return undefined;
  const names = input.ExpressionAttributeNames ?? {};
  const values = input.ExpressionAttributeValues ?? {};
  const num = (v: AttributeValue | undefined) => (v?.N === undefined ? undefined : Number(v.N));
  const value = (name: string) => num(values[name]);
  const cum = num(item.cum);
  if (cond.includes('cum <= :bound') && cum !== undefined && cum > (value(':bound') ?? Infinity))
    return 'budget';
  if (cond.includes('blockedUntil <= :now') && (num(item.blockedUntil) ?? 0) > (value(':now') ?? 0))
    return 'blocked';
  if (cond.includes('asleep = :zero') && (num(item.asleep) ?? 0) > 0) return 'asleep';
  const t = names['#t'];
  const map = t ? item[t]?.M : undefined;
  if (cond.includes('attribute_not_exists(#t)') && map) return 'thread-map-created-meanwhile';
  if (cond.includes('#t.#me = :held')) return 'renew-expired';
  if (cond.includes('size(#t) < :room') && map) {
    const me = names['#me'];
    if (!(me && me in map) && Object.keys(map).length >= (value(':room') ?? 0)) {
      const live = Object.values(map).filter((v) => (num(v) ?? 0) >= (value(':now') ?? 0)).length;
      return live >= 3 ? 'threads-full' : 'threads-full-of-expired-entries';
    }
  }
  for (const [alias, holder] of Object.entries(names)) {
    if (!alias.startsWith('#dead')) continue;
    const expiry = num(map?.[holder]);
    if (expiry === undefined) return 'expired-holder-already-removed';
    if (expiry >= (value(':now') ?? 0)) return 'expired-holder-renewed';
  }
  if (cond.includes('pre <= :pre')) return 'pre';
  return 'other';
};
