import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { AutotaskApi } from '#shared/autotask/types.ts';
import type { BudgetStore, Usage } from '#shared/budget/store.ts';
import { geometry } from '#shared/budget/window.ts';
import type { CredentialSource } from '#shared/connections/credentials.ts';
import { type Connection, ceilingFor } from '#shared/connections/model.ts';
import { AutotaskError } from '#shared/errors.ts';
import type { Logger } from '#shared/observability/logger.ts';
import { emitMetric } from '#shared/observability/metrics.ts';

export interface ThresholdInformation {
  externalRequestThreshold: number;
  requestThresholdTimeframe: number;
  currentTimeframeRequestCount: number;
}

export interface SyncDeps {
  dynamo: DynamoDBClient;
  tableName: string;
  budget: BudgetStore;
  autotask: AutotaskApi;
  credentials: CredentialSource;
  zoneFor: (connection: Connection) => Promise<string>;
  log: Logger;
  now?: () => number;
  /**
   * When this process last set each connection's next turn: a warm container that knows the turn
   * is not due skips the claim (a conditional write that would fail). Other containers still meet
   * the claim, which stays the one guarantee of one caller at a time.
   */
  dueAt?: Map<string, number>;
}

export type SyncOutcome =
  | { status: 'synced'; total: number; usage: Usage; othersAdded: number; nextDueAt: number }
  | { status: 'not-due' }
  | { status: 'no-budget'; retryAt: number }
  | { status: 'error'; message: string; throttled: boolean };

/**
 * How often the database's total is read: once a "minute" (a bucket: 1/60 of the window, one real
 * minute for Autotask's hour) while usage is above 25 %, every five otherwise — but never so often
 * that the syncs themselves would spend more than 1 % of the cap (matters only for the short
 * windows and small caps used in tests and demos: for 10,000 an hour it is 36 s, under a minute).
 */
export const syncPeriodMs = (
  connection: Pick<Connection, 'windowSeconds' | 'limit'>,
  total: number,
): number => {
  const bucketMs = geometry(connection.windowSeconds).bucketMs;
  const floorMs = (connection.windowSeconds * 1000) / (Math.max(1, connection.limit) * 0.01);
  return Math.max(floorMs, total > connection.limit * 0.25 ? bucketMs : 5 * bucketMs);
};

const syncKey = (connectionId: string) => ({ pk: { S: `CONN#${connectionId}` }, sk: { S: 'SYNC' } });

/**
 * Reads ThresholdInformation (every integration's requests in Autotask's rolling window) and feeds
 * other integrations' share into the budget:
 * 1. claim the connection's turn with one conditional write (one caller at a time, at most once a period);
 * 2. reserve the sync's own request like any other (critical ceiling) and call Autotask;
 * 3. others = total - our own requests in the window; what is new since the last sync is added to
 *    the current bucket, so it ages out with the window like our own calls.
 */
export const syncConnection = async (connection: Connection, deps: SyncDeps): Promise<SyncOutcome> => {
  const now = deps.now ?? Date.now;
  const start = now();
  const provisionalDue = start + syncPeriodMs(connection, connection.limit);
  if ((deps.dueAt?.get(connection.connectionId) ?? 0) > start) return { status: 'not-due' };
  const claimed = await claim(deps, connection.connectionId, start, provisionalDue);
  if (!claimed) return { status: 'not-due' };
  deps.dueAt?.set(connection.connectionId, provisionalDue);

  const granted = await deps.budget.reserveSystem(
    connection.connectionId,
    connection.windowSeconds,
    ceilingFor(connection, 'critical'),
  );
  if (!granted) {
    // even critical work has no room: nothing to learn that would let anything run sooner
    return { status: 'no-budget', retryAt: provisionalDue };
  }
  emitMetric('CallsMade', 1, connection.connectionId);
  let info: ThresholdInformation;
  try {
    const [credentials, zoneUrl] = await Promise.all([
      deps.credentials.credentialsFor(connection),
      deps.zoneFor(connection),
    ]);
    const reply = await deps.autotask.send(
      zoneUrl,
      credentials,
      { method: 'GET', path: '/ThresholdInformation' },
      { timeoutMs: 10_000 },
    );
    info = reply.body as ThresholdInformation;
    if (typeof info?.currentTimeframeRequestCount !== 'number')
      throw new Error('ThresholdInformation answer has no currentTimeframeRequestCount');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof AutotaskError && err.kind === 'throttled')
      emitMetric('Throttled429', 1, connection.connectionId);
    deps.log.warn('ThresholdInformation sync failed', {
      connectionId: connection.connectionId,
      error: message,
    });
    return { status: 'error', message, throttled: err instanceof AutotaskError && err.kind === 'throttled' };
  }

  const total = info.currentTimeframeRequestCount;
  const usage = await deps.budget.usage(connection.connectionId, connection.windowSeconds, total);
  const othersNow = Math.max(0, total - usage.ours);
  // Others keep calling until the next sync: count what they will likely add by then (their average
  // rate over the window, with a margin) now, so the window is not over-filled in the meantime. The
  // next sync adds only what exceeds what is already counted, so an over-estimate corrects itself.
  const period = syncPeriodMs(connection, total);
  // Bursty neighbours: also keep room for the largest jump seen between two reads in the last window.
  const jump = claimed.lastOthersSeen === undefined ? [] : [Math.max(0, othersNow - claimed.lastOthersSeen)];
  const arrivals = [...claimed.arrivals, ...jump].slice(-ARRIVALS_KEPT);
  // (a jump is net of what aged out meanwhile, so it is scaled by the same 1.5 margin)
  const expected = Math.ceil(
    1.5 * Math.max((othersNow * period) / (connection.windowSeconds * 1000), ...arrivals),
  );
  const othersAdded = Math.max(0, othersNow + expected - usage.others);
  const after =
    othersAdded > 0
      ? await deps.budget.addOthers(connection.connectionId, connection.windowSeconds, othersAdded)
      : usage;
  const nextDueAt = now() + period;
  deps.dueAt?.set(connection.connectionId, nextDueAt);
  await setDue(deps, connection.connectionId, nextDueAt, {
    total,
    others: after.others,
    ours: after.ours,
    at: now(),
    othersSeen: othersNow,
    arrivals,
  });
  if (othersAdded > 0) emitMetric('OtherCalls', othersAdded, connection.connectionId);
  deps.log.info('synced ThresholdInformation', {
    connectionId: connection.connectionId,
    total,
    ours: after.ours,
    others: after.others,
    othersAdded,
  });
  return { status: 'synced', total, usage: after, othersAdded, nextDueAt };
};

/** Jumps in other integrations' usage remembered between reads: about a window's worth of reads. */
const ARRIVALS_KEPT = 60;

interface Claimed {
  /** Other integrations' usage at the previous read (undefined before the first). */
  lastOthersSeen: number | undefined;
  arrivals: number[];
}

const claim = async (
  deps: SyncDeps,
  connectionId: string,
  now: number,
  due: number,
): Promise<Claimed | undefined> => {
  try {
    const out = await deps.dynamo.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: syncKey(connectionId),
        UpdateExpression: 'SET nextDueAt = :due, claimedAt = :now',
        ConditionExpression: 'attribute_not_exists(nextDueAt) OR nextDueAt <= :now',
        ExpressionAttributeValues: { ':due': { N: String(due) }, ':now': { N: String(now) } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = out.Attributes ?? {};
    return {
      lastOthersSeen: old.lastOthersSeen?.N === undefined ? undefined : Number(old.lastOthersSeen.N),
      arrivals: (old.arrivals?.L ?? []).map((v) => Number(v.N ?? 0)),
    };
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return undefined;
    throw err;
  }
};

const setDue = async (
  deps: SyncDeps,
  connectionId: string,
  due: number,
  seen: {
    total?: number;
    others?: number;
    ours?: number;
    at?: number;
    othersSeen?: number;
    arrivals?: number[];
  },
): Promise<void> => {
  const values: Record<string, AttributeValue> = { ':due': { N: String(Math.round(due)) } };
  const sets = ['nextDueAt = :due'];
  const { arrivals, ...numbers } = seen;
  if (arrivals) {
    values[':arrivals'] = { L: arrivals.map((a) => ({ N: String(a) })) };
    sets.push('arrivals = :arrivals');
  }
  for (const [name, value] of Object.entries(numbers)) {
    if (value === undefined) continue;
    values[`:${name}`] = { N: String(value) };
    sets.push(`last${name[0]?.toUpperCase()}${name.slice(1)} = :${name}`);
  }
  await deps.dynamo.send(
    new UpdateItemCommand({
      TableName: deps.tableName,
      Key: syncKey(connectionId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeValues: values,
    }),
  );
};

/** The last ThresholdInformation reading: other integrations' requests as Autotask counted them. */
export interface LastReading {
  othersSeen: number;
  total: number;
  at: number;
}

export const readLastSync = async (
  dynamo: DynamoDBClient,
  tableName: string,
  connectionId: string,
): Promise<LastReading | undefined> => {
  const out = await dynamo.send(
    new GetItemCommand({ TableName: tableName, Key: syncKey(connectionId), ConsistentRead: true }),
  );
  const item = out.Item;
  if (item?.lastOthersSeen?.N === undefined || item.lastAt?.N === undefined) return undefined;
  return {
    othersSeen: Number(item.lastOthersSeen.N),
    total: Number(item.lastTotal?.N ?? 0),
    at: Number(item.lastAt.N),
  };
};
