/**
 * The budget item's side of the budget store (shared/budget/dynamo-budget.ts adds the reservations):
 * this process's latest copy of each connection's item, reads, and the writes that are not
 * reservations (thread leases, the sync's own read and other integrations' usage, 429 blocks, sleep,
 * hourly counters). Every write that returns the item refreshes the copy.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  BUMP,
  decode,
  endAttr,
  HOURLY_ATTRIBUTE,
  hourOf,
  key,
  n,
  othersAttr,
  ttlFor,
  usageOf,
} from '#shared/budget/item.ts';
import type { Usage } from '#shared/budget/store.ts';
import type { ThreadLease } from '#shared/budget/threads.ts';
import {
  type BudgetSnapshot,
  bucketOf,
  type Geometry,
  geometry,
  prefix,
  SPAN,
  systemAt,
} from '#shared/budget/window.ts';

export interface BudgetDeps {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class BudgetItemStore {
  protected readonly cache = new Map<string, BudgetSnapshot>();
  protected readonly now: () => number;
  protected readonly sleep: (ms: number) => Promise<void>;

  constructor(
    protected readonly dynamo: DynamoDBClient,
    protected readonly tableName: string,
    deps: BudgetDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Extends a thread lease still held (its request is taking longer than the lease): one write,
   * conditional on the entry being unchanged. Undefined if it is gone (it had expired).
   */
  async renew(lease: ThreadLease, leaseMs: number): Promise<ThreadLease | undefined> {
    const expiresAt = this.now() + leaseMs;
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(lease.connectionId),
          UpdateExpression: `SET #t.#me = :expires ${BUMP}`,
          ConditionExpression: '#t.#me = :held',
          ExpressionAttributeNames: { '#t': lease.attribute, '#me': lease.holder, '#v': 'v' },
          ExpressionAttributeValues: { ':expires': n(expiresAt), ':held': n(lease.expiresAt), ':one': n(1) },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
    this.cache.get(lease.connectionId)?.threads.get(lease.attribute)?.set(lease.holder, expiresAt);
    return { ...lease, expiresAt };
  }

  async release(lease: ThreadLease): Promise<void> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(lease.connectionId),
          UpdateExpression: `REMOVE #t.#me ${BUMP}`,
          ConditionExpression: 'attribute_exists(#t)',
          ExpressionAttributeNames: { '#t': lease.attribute, '#me': lease.holder, '#v': 'v' },
          ExpressionAttributeValues: { ':one': n(1) },
        }),
      );
      this.cache.get(lease.connectionId)?.threads.get(lease.attribute)?.delete(lease.holder);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /** The bucket of each connection's latest granted reserveSystem (the sync's ThresholdInformation read). */
  private readonly systemBucket = new Map<string, number>();

  async reserveSystem(connectionId: string, windowSeconds: number, ceiling: number): Promise<boolean> {
    const g = geometry(windowSeconds);
    const now = this.now();
    const c = bucketOf(g, now);
    const snap = this.cache.get(connectionId) ?? (await this.read(connectionId, g));
    const bound = ceiling - 1 - systemAt(snap, c) + prefix(snap, c - SPAN);
    try {
      const out = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(connectionId),
          UpdateExpression: `SET #s = if_not_exists(#s, :zero) + :one, #calls = if_not_exists(#calls, :zero) + :one, #ttl = :ttl ${BUMP}`,
          ConditionExpression: 'attribute_not_exists(cum) OR cum <= :bound',
          ExpressionAttributeNames: {
            '#s': `s${c}`,
            '#calls': `h${hourOf(now)}_sync`,
            '#ttl': 'ttl',
            '#v': 'v',
          },
          ExpressionAttributeValues: {
            ':zero': n(0),
            ':one': n(1),
            ':bound': n(bound),
            ':ttl': n(ttlFor(g, now)),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      this.remember(connectionId, decode(out.Attributes, now, c));
      this.systemBucket.set(connectionId, c);
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async addOthers(connectionId: string, windowSeconds: number, count: number): Promise<Usage> {
    const g = geometry(windowSeconds);
    const now = this.now();
    const c = bucketOf(g, now);
    const out = await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key(connectionId),
        UpdateExpression: `SET cum = if_not_exists(cum, :zero) + :k, #end = if_not_exists(cum, :zero) + :k, #others = if_not_exists(#others, :zero) + :k, #hour = if_not_exists(#hour, :zero) + :k, #ttl = :ttl ${BUMP}`,
        ExpressionAttributeNames: {
          '#end': endAttr(c),
          '#others': othersAttr(c),
          '#hour': `oh${hourOf(now)}`,
          '#ttl': 'ttl',
          '#v': 'v',
        },
        ExpressionAttributeValues: { ':zero': n(0), ':k': n(count), ':ttl': n(ttlFor(g, now)), ':one': n(1) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const snap = decode(out.Attributes, now, c);
    this.remember(connectionId, snap);
    return usageOf(snap, c);
  }

  async block(connectionId: string, until: number): Promise<void> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(connectionId),
          UpdateExpression: 'SET blockedUntil = :until, #refused = if_not_exists(#refused, :zero) + :one',
          ConditionExpression: 'attribute_not_exists(blockedUntil) OR blockedUntil < :until',
          ExpressionAttributeNames: { '#refused': `x${hourOf(this.now())}` },
          ExpressionAttributeValues: { ':until': n(until), ':zero': n(0), ':one': n(1) },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const cached = this.cache.get(connectionId);
    if (cached) cached.blockedUntil = Math.max(cached.blockedUntil, until);
  }

  async usage(connectionId: string, windowSeconds: number, total?: number): Promise<Usage> {
    const g = geometry(windowSeconds);
    // The sync compares our count with the total Autotask gave it right after reserveSystem: if
    // buckets ended in between (a slow answer, or short buckets), count ours in that bucket's window,
    // or the requests that aged out of ours meanwhile (still in Autotask's window when it answered)
    // would be taken for other integrations.
    const asked = this.systemBucket.get(connectionId);
    const bucketFor = (c: number) =>
      asked !== undefined && (asked === c - 1 || (total !== undefined && asked < c && c - asked < SPAN))
        ? asked
        : c;
    const copy = this.cache.get(connectionId);
    if (total !== undefined && copy && asked !== undefined && copy.readBucket === asked) {
      const c = bucketFor(bucketOf(g, this.now()));
      // the same bucket's window: closed buckets and others' counts are those of a fresh read
      if (c === asked) {
        const counted = usageOf(copy, c);
        if (counted.ours >= total) return counted;
      }
    }
    const snap = await this.read(connectionId, g);
    return usageOf(snap, bucketFor(bucketOf(g, snap.readAt)));
  }

  async holdForBursts(connectionId: string, burst: number, until: number): Promise<void> {
    const held = Math.max(0, Math.round(burst));
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key(connectionId),
        UpdateExpression: `${held > 0 ? 'SET burst = :burst, burstUntil = :until' : 'REMOVE burst, burstUntil'} ${BUMP}`,
        ExpressionAttributeNames: { '#v': 'v' },
        ExpressionAttributeValues: {
          ':one': n(1),
          ...(held > 0 ? { ':burst': n(held), ':until': n(Math.round(until)) } : {}),
        },
      }),
    );
    const cached = this.cache.get(connectionId);
    if (cached) {
      cached.burst = held;
      cached.burstUntil = held > 0 ? Math.round(until) : 0;
    }
  }

  async setAsleep(connectionId: string, asleep: boolean): Promise<void> {
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key(connectionId),
        UpdateExpression: asleep ? 'SET asleep = :one' : 'REMOVE asleep',
        ...(asleep ? { ExpressionAttributeValues: { ':one': n(1) } } : {}),
      }),
    );
    const cached = this.cache.get(connectionId);
    if (cached) cached.asleep = asleep;
  }

  async snapshot(connectionId: string, windowSeconds: number, maxAgeMs = -1): Promise<BudgetSnapshot> {
    const cached = this.cache.get(connectionId);
    if (cached && this.now() - cached.readAt <= maxAgeMs) return cached;
    return this.read(connectionId, geometry(windowSeconds));
  }

  async dropHourly(connectionId: string, attributes: string[]): Promise<void> {
    const names = attributes.filter((a) => HOURLY_ATTRIBUTE.test(a));
    if (names.length === 0) return;
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key(connectionId),
        UpdateExpression: `REMOVE ${names.map((_, i) => `#h${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#h${i}`, name])),
      }),
    );
    const cached = this.cache.get(connectionId);
    for (const name of names) cached?.hourly.delete(name);
  }

  /** Keeps the newer of the cached copy and `snap` (answers to concurrent requests may arrive out of order). */
  protected remember(connectionId: string, snap: BudgetSnapshot): BudgetSnapshot {
    const current = this.cache.get(connectionId);
    if (current && current.version > snap.version) return current;
    this.cache.set(connectionId, snap);
    return snap;
  }

  /** The latest copy this process holds (for status and tests); undefined before the first read. */
  cached(connectionId: string): BudgetSnapshot | undefined {
    return this.cache.get(connectionId);
  }

  /** Reads under way: the jobs of one container that need a fresh copy at once share one read. */
  private readonly reading = new Map<string, Promise<BudgetSnapshot>>();

  protected read(connectionId: string, g: Geometry): Promise<BudgetSnapshot> {
    const current = this.reading.get(connectionId);
    if (current) return current;
    const started = this.readNow(connectionId, g).finally(() => this.reading.delete(connectionId));
    this.reading.set(connectionId, started);
    return started;
  }

  private async readNow(connectionId: string, g: Geometry): Promise<BudgetSnapshot> {
    const now = this.now();
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: key(connectionId), ConsistentRead: true }),
    );
    return this.remember(connectionId, decode(out.Item, now, bucketOf(g, now)));
  }
}
