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
import { PromisedPlaces } from '#shared/budget/promises.ts';
import { reservationUpdate } from '#shared/budget/reservation-write.ts';
import type { BudgetStore, ReserveOutcome, ReserveRequest, Usage } from '#shared/budget/store.ts';
import { type Slot, slotFor, type ThreadLease } from '#shared/budget/threads.ts';
import {
  type BudgetSnapshot,
  bucketOf,
  bucketStart,
  type Geometry,
  geometry,
  inTail,
  nextRoom,
  prefix,
  SPAN,
  systemAt,
  trustworthyAt,
  usedAt,
} from '#shared/budget/window.ts';

export interface BudgetDeps {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const MAX_ROUNDS = 6;
/** All three threads of an endpoint busy: look again this soon (a request rarely takes longer). */
const SLOT_RECHECK_MS = 50;
/** A cached copy younger than this is trusted when it shows an endpoint's threads all busy. */
const SLOT_TRUST_MS = 1_000;
/** While asleep, waiting jobs look again this often (plus up to 10 s of jitter): a wake-up is noticed within 30 s. */
const ASLEEP_RECHECK_MS = 15_000;
const ASLEEP_CACHE_MS = 5_000;
/**
 * The budget in DynamoDB: one item per connection (see shared/budget/window.ts for the model).
 * A granted reservation costs exactly one UpdateItem; a worker whose cached copy already shows the
 * window full answers "wait until bucket X" without touching DynamoDB.
 */
export class DynamoBudgetStore implements BudgetStore {
  private readonly cache = new Map<string, BudgetSnapshot>();
  /** Jobs this process already sent to wait, per connection and bucket: spreads a backlog's return. */
  private readonly promised = new PromisedPlaces();
  /** Jobs this process throttled and has not yet counted in DynamoDB, per connection. */
  private readonly pendingThrottles = new Map<string, { count: number; since: number }>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
    deps: BudgetDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
    const g = geometry(request.windowSeconds);
    if (request.promisedBucket !== undefined)
      this.promised.giveBack(request.connectionId, request.promisedBucket, request.count);
    let refreshed = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let now = this.now();
      if (inTail(g, now)) {
        await this.sleep(bucketStart(g, bucketOf(g, now) + 1) - now);
        now = this.now();
      }
      const c = bucketOf(g, now);
      let snap = this.cache.get(request.connectionId);
      if (!snap || (!refreshed && !trustworthyAt(snap, c))) {
        snap = await this.read(request.connectionId, g);
        refreshed = true;
      }
      if (snap.blockedUntil > now) {
        if (!refreshed) {
          snap = await this.read(request.connectionId, g);
          refreshed = true;
          continue;
        }
        this.noteThrottled(request.connectionId);
        const retryBucket = bucketOf(g, snap.blockedUntil) + 1;
        return {
          granted: false,
          reason: 'blocked',
          retryAt: bucketStart(g, retryBucket),
          retryBucket,
          used: usedAt(snap, c),
        };
      }
      if (snap.asleep && !request.allowWhileAsleep) {
        if (now - snap.readAt > ASLEEP_CACHE_MS && !refreshed) {
          snap = await this.read(request.connectionId, g);
          refreshed = true;
          continue;
        }
        this.noteThrottled(request.connectionId);
        return { granted: false, reason: 'asleep', retryAt: now + ASLEEP_RECHECK_MS };
      }
      if (usedAt(snap, c) + request.count > request.ceiling) {
        if (!refreshed && !trustworthyAt(snap, c)) {
          snap = await this.read(request.connectionId, g);
          refreshed = true;
          continue;
        }
        return this.throttled(request, g, snap, c);
      }
      const slot = request.thread ? slotFor(snap, request.thread, now) : undefined;
      if (request.thread && slot === undefined) {
        // A recent copy (every write returns the whole item) is believed when it says all three are
        // busy: the caller waits a moment and looks at its copy again instead of polling DynamoDB.
        if (!refreshed && now - snap.readAt > SLOT_TRUST_MS) {
          snap = await this.read(request.connectionId, g);
          refreshed = true;
          continue;
        }
        return {
          granted: false,
          reason: 'thread-slot',
          retryAt: now + SLOT_RECHECK_MS * (0.5 + Math.random()),
        };
      }
      const outcome = await this.write(request, g, snap, c, now, slot);
      if (outcome && 'granted' in outcome) return outcome;
      // Lost a race: someone took the room or the slot first.
      if (outcome?.item) {
        // DynamoDB returned the item that failed the condition: no need to read it again
        snap = outcome.item;
        refreshed = true;
        continue;
      }
      const failedAt = this.now();
      if (request.thread && slot && this.roomFor(request, c, failedAt)) {
        // A recent copy shows plenty of room in the window, so it was the endpoint's threads: wait a
        // moment and look again rather than spend a read to confirm it.
        return {
          granted: false,
          reason: 'thread-slot',
          retryAt: failedAt + SLOT_RECHECK_MS * (0.5 + Math.random()),
        };
      }
      snap = await this.read(request.connectionId, g);
      refreshed = true;
    }
    const now = this.now();
    return { granted: false, reason: 'thread-slot', retryAt: now + 1000 };
  }

  /** The bucket of each connection's latest granted reserveSystem (the sync's ThresholdInformation read). */
  private readonly systemBucket = new Map<string, number>();

  /** The latest copy is recent and leaves this request plenty of room in the window. */
  private roomFor(request: ReserveRequest, c: number, now: number): boolean {
    const snap = this.cache.get(request.connectionId);
    if (!snap || now - snap.readAt > SLOT_TRUST_MS || !trustworthyAt(snap, c)) return false;
    if (snap.blockedUntil > now || (snap.asleep && !request.allowWhileAsleep)) return false;
    const margin = Math.max(3, Math.ceil(request.ceiling / 20));
    return usedAt(snap, c) + request.count + margin <= request.ceiling;
  }

  async beforeCall(
    connectionId: string,
    windowSeconds: number,
    bucket: number,
    count: number,
  ): Promise<boolean> {
    const g = geometry(windowSeconds);
    const c = bucketOf(g, this.now());
    if (c <= bucket) return false;
    // Every bucket end from `bucket` to the one before the current counts the request: lowering them
    // by `count` moves it into the current bucket (only later, never earlier: always safe). Ends this
    // copy does not know of must not exist, or the write fails and the item is read for another try.
    for (let round = 0; round < 3; round++) {
      const snap = this.cache.get(connectionId) ?? (await this.read(connectionId, g));
      // the current bucket's end is the running total, which counts the request (until a later write
      // sets it again)
      const names: Record<string, string> = { '#v': 'v', '#current': endAttr(c) };
      const sets: string[] = ['#current = cum'];
      const conditions: string[] = [];
      for (let b = bucket; b < c; b++) {
        names[`#e${b - bucket}`] = endAttr(b);
        if (snap.ends.has(b) || b === bucket) {
          sets.push(`#e${b - bucket} = #e${b - bucket} - :k`);
          conditions.push(`attribute_exists(#e${b - bucket})`);
        } else conditions.push(`attribute_not_exists(#e${b - bucket})`);
      }
      try {
        const out = await this.dynamo.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: key(connectionId),
            UpdateExpression: `SET ${sets.join(', ')} ${BUMP}`,
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':k': n(count), ':one': n(1) },
            ReturnValues: 'ALL_NEW',
          }),
        );
        this.remember(connectionId, decode(out.Attributes, this.now(), c));
        return true;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        await this.read(connectionId, g);
      }
    }
    throw new Error('the budget item kept changing: the late request stays counted in its reserved bucket');
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

  async flushCounters(maxAgeMs = 30_000): Promise<void> {
    const now = this.now();
    for (const [connectionId, pending] of [...this.pendingThrottles]) {
      if (now - pending.since < maxAgeMs) continue;
      this.pendingThrottles.delete(connectionId);
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(connectionId),
          UpdateExpression: 'SET #throttled = if_not_exists(#throttled, :zero) + :count',
          ExpressionAttributeNames: { '#throttled': `t${hourOf(now)}` },
          ExpressionAttributeValues: { ':zero': n(0), ':count': n(pending.count) },
        }),
      );
    }
  }

  private noteThrottled(connectionId: string): void {
    const pending = this.pendingThrottles.get(connectionId);
    if (pending) pending.count++;
    else this.pendingThrottles.set(connectionId, { count: 1, since: this.now() });
  }

  /** Keeps the newer of the cached copy and `snap` (answers to concurrent requests may arrive out of order). */
  private remember(connectionId: string, snap: BudgetSnapshot): BudgetSnapshot {
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

  private read(connectionId: string, g: Geometry): Promise<BudgetSnapshot> {
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

  private async write(
    request: ReserveRequest,
    g: Geometry,
    snap: BudgetSnapshot,
    c: number,
    now: number,
    slot: Slot | undefined,
  ): Promise<ReserveOutcome | { item: BudgetSnapshot | undefined } | undefined> {
    const pending = this.pendingThrottles.get(request.connectionId);
    const { update, lease } = reservationUpdate(request, g, snap, c, now, slot, pending?.count ?? 0);
    try {
      const out = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(request.connectionId),
          ...update,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const fresh = decode(out.Attributes, now, c);
      this.remember(request.connectionId, fresh);
      if (pending) this.pendingThrottles.delete(request.connectionId);
      return {
        granted: true,
        bucket: c,
        left: request.ceiling - usedAt(fresh, c),
        ...(lease ? { lease } : {}),
      };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        if (slot && !slot.exists) {
          // the endpoint's map was created meanwhile (that is what such a write most often loses
          // to): the next try joins it instead of trying to create it again
          const cached = this.cache.get(request.connectionId);
          if (cached && !cached.threads.has(slot.attribute)) cached.threads.set(slot.attribute, new Map());
        }
        if (!err.Item) return { item: undefined };
        // the item as it was when the condition failed, unless this process has a newer copy
        const item = this.remember(
          request.connectionId,
          decode(err.Item, this.now(), bucketOf(g, this.now())),
        );
        return { item };
      }
      throw err;
    }
  }

  private throttled(request: ReserveRequest, g: Geometry, snap: BudgetSnapshot, c: number): ReserveOutcome {
    const promised = this.promised.current(request.connectionId, c, g.bucketMs);
    const retryBucket = nextRoom(snap, c, request.count, request.ceiling, promised) ?? c + SPAN;
    this.promised.promise(request.connectionId, retryBucket, request.count);
    this.noteThrottled(request.connectionId);
    return {
      granted: false,
      reason: 'budget',
      retryAt: bucketStart(g, retryBucket),
      retryBucket,
      used: usedAt(snap, c),
    };
  }
}
