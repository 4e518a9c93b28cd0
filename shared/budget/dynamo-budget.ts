import { ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { underBurstCeiling } from '#shared/budget/bursts.ts';
import { BUMP, decode, endAttr, hourOf, key, n, wantAttr } from '#shared/budget/item.ts';
import { BudgetItemStore } from '#shared/budget/item-store.ts';
import { PromisedPlaces } from '#shared/budget/promises.ts';
import { reservationUpdate } from '#shared/budget/reservation-write.ts';
import type { BudgetStore, ReserveOutcome, ReserveRequest } from '#shared/budget/store.ts';
import { type Slot, slotFor } from '#shared/budget/threads.ts';
import {
  type BudgetSnapshot,
  bucketOf,
  bucketStart,
  type Geometry,
  geometry,
  inTail,
  nextRoom,
  SPAN,
  trustworthyAt,
  usedAt,
} from '#shared/budget/window.ts';

const MAX_ROUNDS = 6;
/** All three threads of an endpoint busy: look again this soon (a request rarely takes longer). */
const SLOT_RECHECK_MS = 50;
/** A cached copy younger than this is trusted when it shows an endpoint's threads all busy. */
const SLOT_TRUST_MS = 1_000;
const CRITICAL_SLOT_TRUST_MS = 100;
/**
 * While asleep, a job without a parked queue (shared/jobs/parking.ts) looks again this often, plus
 * up to 10 s of jitter (job-endings.ts); with one, the wake hands it back instead.
 */
const ASLEEP_RECHECK_MS = 10_000;
/** How long a critical job's claim on an endpoint's next thread lasts (renewed while it waits). */
const CRITICAL_WANT_MS = 1_000;
/** A cached "asleep" older than this is read again before a job is sent to wait for it. */
const ASLEEP_CACHE_MS = 1_000;
/**
 * The budget in DynamoDB: one item per connection (see shared/budget/window.ts for the model).
 * A granted reservation costs exactly one UpdateItem; a worker whose cached copy already shows the
 * window full answers "wait until bucket X" without touching DynamoDB.
 */
export class DynamoBudgetStore extends BudgetItemStore implements BudgetStore {
  /** Jobs this process already sent to wait, per connection and bucket: spreads a backlog's return. */
  private readonly promised = new PromisedPlaces();
  /** Jobs this process throttled and has not yet counted in DynamoDB, per connection. */
  private readonly pendingThrottles = new Map<string, { count: number; since: number }>();

  async reserve(asked: ReserveRequest): Promise<ReserveOutcome> {
    const g = geometry(asked.windowSeconds);
    if (asked.promisedBucket !== undefined)
      this.promised.giveBack(asked.connectionId, asked.promisedBucket, asked.count);
    let refreshed = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let now = this.now();
      if (inTail(g, now)) {
        await this.sleep(bucketStart(g, bucketOf(g, now) + 1) - now);
        now = this.now();
      }
      const c = bucketOf(g, now);
      let snap = this.cache.get(asked.connectionId);
      if (!snap || (!refreshed && !trustworthyAt(snap, c))) {
        snap = await this.read(asked.connectionId, g);
        refreshed = true;
      }
      const request = underBurstCeiling(asked, snap, now);
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
        return this.throttled(request, g, snap, c, asked);
      }
      if (request.thread && request.priority !== 'critical') {
        const wanted = snap.criticalWants.get(wantAttr(request.thread.endpoint)) ?? 0;
        if (wanted > now)
          return {
            granted: false,
            reason: 'thread-slot',
            retryAt: wanted + SLOT_RECHECK_MS * Math.random(),
            yieldToCritical: true,
          };
      }
      const slot = request.thread ? slotFor(snap, request.thread, now) : undefined;
      if (request.thread && slot === undefined) {
        await this.wantForCritical(request, now);
        // A recent copy (every write returns the whole item) is believed when it says all three are
        // busy: the caller waits a moment and looks at its copy again instead of polling DynamoDB.
        // a critical job, which has the next free thread to itself, looks sooner
        const trustMs = request.priority === 'critical' ? CRITICAL_SLOT_TRUST_MS : SLOT_TRUST_MS;
        if (!refreshed && now - snap.readAt > trustMs) {
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
        await this.wantForCritical(request, failedAt);
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

  /**
   * A critical job finds its endpoint's threads busy: it marks the endpoint wanted for a second
   * (renewed while it waits, at most every half second per container), so other priorities neither
   * take nor keep a thread there meanwhile and the next free one is its (docs/budget.md, "Threads").
   */
  private async wantForCritical(request: ReserveRequest, now: number): Promise<void> {
    if (request.priority !== 'critical' || !request.thread) return;
    const attribute = wantAttr(request.thread.endpoint);
    const cached = this.cache.get(request.connectionId);
    if ((cached?.criticalWants.get(attribute) ?? 0) > now + CRITICAL_WANT_MS / 2) return;
    const until = now + CRITICAL_WANT_MS;
    await this.dynamo
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(request.connectionId),
          UpdateExpression: 'SET #w = :until',
          ConditionExpression: 'attribute_not_exists(#w) OR #w < :until',
          ExpressionAttributeNames: { '#w': attribute },
          ExpressionAttributeValues: { ':until': n(until) },
        }),
      )
      .catch((err) => {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      });
    cached?.criticalWants.set(attribute, until);
  }

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

  private throttled(
    request: ReserveRequest,
    g: Geometry,
    snap: BudgetSnapshot,
    c: number,
    asked: ReserveRequest = request,
  ): ReserveOutcome {
    const promised = this.promised.current(request.connectionId, c, g.bucketMs);
    let retryBucket = nextRoom(snap, c, request.count, request.ceiling, promised) ?? c + SPAN;
    if (asked.ceiling > request.ceiling) {
      // the burst that lowers this ceiling leaves the window then: from the next bucket on, the
      // priority's own ceiling holds again, which may open room sooner
      const after = nextRoom(
        snap,
        Math.max(c, bucketOf(g, snap.burstUntil)),
        asked.count,
        asked.ceiling,
        promised,
      );
      if (after !== undefined && after < retryBucket) retryBucket = after;
    }
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
