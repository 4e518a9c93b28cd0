import { type DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { hourOf } from '#shared/budget/item.ts';
import type { BudgetStore } from '#shared/budget/store.ts';
import type { BudgetSnapshot } from '#shared/budget/window.ts';

/**
 * "API Activity by Hour": the budget item counts the current hours (one more SET clause in writes
 * the governor makes anyway); the sync moves each hour that closed over an hour ago into an item of
 * its own, kept 30 days, so the budget item - written on every reservation - stays small.
 */
export interface HourCounts {
  critical: number;
  normal: number;
  bulk: number;
  /** The governor's own ThresholdInformation reads. */
  sync: number;
  others: number;
  throttled: number;
  refused429: number;
  endpoints: Record<string, number>;
}

export interface HourRow {
  hour: string;
  ours: number;
  others: number;
  total: number;
  throttled: number;
  refused429: number;
  critical: number;
  normal: number;
  bulk: number;
  sync: number;
}

export const HOUR_MS = 3_600_000;
export const RETENTION_DAYS = 30;
export const CSV_COLUMNS = [
  'hour',
  'our_calls',
  'other_integrations_calls',
  'total_calls',
  'jobs_throttled',
  'responses_429',
  'critical_calls',
  'normal_calls',
  'bulk_calls',
  'sync_calls',
] as const;

const empty = (): HourCounts => ({
  critical: 0,
  normal: 0,
  bulk: 0,
  sync: 0,
  others: 0,
  throttled: 0,
  refused429: 0,
  endpoints: {},
});

/** Groups the budget item's per-hour attributes (see HOURLY_ATTRIBUTE) by hour. */
export const groupByHour = (hourly: ReadonlyMap<string, number>): Map<number, HourCounts> => {
  const hours = new Map<number, HourCounts>();
  const at = (hour: number) => {
    const counts = hours.get(hour) ?? empty();
    hours.set(hour, counts);
    return counts;
  };
  for (const [name, value] of hourly) {
    let m = /^h(\d+)_(critical|normal|bulk|sync)$/.exec(name);
    if (m) {
      at(Number(m[1]))[m[2] as 'critical' | 'normal' | 'bulk' | 'sync'] += value;
      continue;
    }
    m = /^n(\d+)_(.+)$/.exec(name);
    if (m) {
      const counts = at(Number(m[1]));
      counts.endpoints[m[2] as string] = (counts.endpoints[m[2] as string] ?? 0) + value;
      continue;
    }
    m = /^(t|x|oh)(\d+)$/.exec(name);
    if (!m) continue;
    const field = m[1] === 't' ? 'throttled' : m[1] === 'x' ? 'refused429' : 'others';
    at(Number(m[2]))[field] += value;
  }
  return hours;
};

const usageSk = (hour: number) => `USAGE#${String(hour).padStart(9, '0')}`;
const pk = (connectionId: string) => `CONN#${connectionId}`;

export class HourlyUsage {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
    private readonly budget: Pick<BudgetStore, 'snapshot' | 'dropHourly'>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Archives every hour that ended more than an hour ago (no reservation can still add to it): a
   * plain put of its final counts, so doing it twice after a crash is harmless, then the budget
   * item forgets it. Returns the hours archived.
   */
  async archive(connectionId: string, snap: BudgetSnapshot): Promise<number> {
    const closedBefore = hourOf(this.now()) - 1;
    const hours = [...groupByHour(snap.hourly)].filter(([hour]) => hour < closedBefore);
    if (hours.length === 0) return 0;
    for (const [hour, counts] of hours) {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: pk(connectionId) },
            sk: { S: usageSk(hour) },
            doc: { S: JSON.stringify(counts) },
            ttl: { N: String(Math.ceil(((hour + 1) * HOUR_MS) / 1000) + RETENTION_DAYS * 86_400) },
          },
        }),
      );
    }
    const archived = new Set(hours.map(([hour]) => hour));
    const names = [...snap.hourly.keys()].filter((name) => archived.has(Number(/\d+/.exec(name)?.[0])));
    await this.budget.dropHourly(connectionId, names);
    return hours.length;
  }

  /** One row per clock hour (UTC) from `fromMs` to `toMs`, hours without activity included. */
  async report(
    connection: { connectionId: string; windowSeconds: number },
    fromMs: number,
    toMs: number,
  ): Promise<Array<HourRow & { endpoints: Record<string, number> }>> {
    const from = hourOf(fromMs);
    const to = hourOf(toMs);
    const archived = new Map<number, HourCounts>();
    let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const out = await this.dynamo.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': { S: pk(connection.connectionId) },
            ':from': { S: usageSk(from) },
            ':to': { S: usageSk(to) },
          },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const hour = Number(item.sk?.S?.slice('USAGE#'.length));
        archived.set(hour, { ...empty(), ...(JSON.parse(item.doc?.S ?? '{}') as Partial<HourCounts>) });
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    const snap = await this.budget.snapshot(connection.connectionId, connection.windowSeconds);
    const live = groupByHour(snap.hourly);
    const rows: Array<HourRow & { endpoints: Record<string, number> }> = [];
    for (let hour = from; hour <= to; hour++) {
      // an archived hour is final; the budget item may still hold a copy if the sync stopped in between
      const c = archived.get(hour) ?? live.get(hour) ?? empty();
      const ours = c.critical + c.normal + c.bulk + c.sync;
      rows.push({
        hour: new Date(hour * HOUR_MS).toISOString(),
        ours,
        others: c.others,
        total: ours + c.others,
        throttled: c.throttled,
        refused429: c.refused429,
        critical: c.critical,
        normal: c.normal,
        bulk: c.bulk,
        sync: c.sync,
        endpoints: c.endpoints,
      });
    }
    return rows;
  }
}

export const toCsv = (rows: readonly HourRow[]): string =>
  [
    CSV_COLUMNS.join(','),
    ...rows.map((r) =>
      [
        r.hour,
        r.ours,
        r.others,
        r.total,
        r.throttled,
        r.refused429,
        r.critical,
        r.normal,
        r.bulk,
        r.sync,
      ].join(','),
    ),
  ].join('\r\n') + '\r\n';
