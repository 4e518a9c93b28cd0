import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AutotaskSimulator, startAutotaskSimulator } from '#local/autotask-sim/index.ts';
import { type Emulators, startEmulators } from '#local/emulators.ts';
import { createResources } from '#local/resources.ts';
import { AutotaskHttpClient } from '#shared/autotask/client.ts';
import { DynamoBudgetStore } from '#shared/budget/dynamo-budget.ts';

const user = { username: 'budget@msp.example', secret: 's3cret', integrationCode: 'BUDGET-TEST' };
let emulators: Emulators;
let dynamo: DynamoDBClient;
let tableName: string;
let sim: AutotaskSimulator;

beforeAll(async () => {
  emulators = await startEmulators();
  tableName = (await createResources(emulators, { prefix: 'budget-test' })).tableName;
  dynamo = new DynamoDBClient({
    region: emulators.region,
    endpoint: emulators.endpoints.dynamodb,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  sim = await startAutotaskSimulator({
    limit: 100,
    windowSeconds: 12,
    latencyScale: 0,
    threadLimit: 1000,
    users: [user],
  });
});

afterAll(async () => {
  dynamo?.destroy();
  await sim?.stop();
  await emulators?.stop();
});

describe('reserving budget in DynamoDB', () => {
  it('counts a request that goes out after its bucket ended in the bucket it went out in', async () => {
    // a 60 s window: 1 s buckets, on a clock the test moves
    let now = 1_900_000_000_000 + 200;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    };
    const budget = new DynamoBudgetStore(dynamo, tableName, clock);
    const { bucketOf, geometry, usedAt } = await import('#shared/budget/window.ts');
    const g = geometry(60);
    const request = { connectionId: 'late', limit: 10, windowSeconds: 60, ceiling: 8, count: 1 };
    const grant = await budget.reserve(request);
    if (!grant.granted) throw new Error('not granted');
    const b = grant.bucket;
    // still in its bucket: nothing to do, no write
    expect(await budget.beforeCall('late', 60, b, 1)).toBe(false);
    // another worker reserves in the next bucket (its end counts the first request too) ...
    now += 1_000;
    expect((await new DynamoBudgetStore(dynamo, tableName, clock).reserve(request)).granted).toBe(true);
    // ... and the first request only goes out two buckets after its reservation
    now += 1_000;
    expect(bucketOf(g, now)).toBe(b + 2);
    expect(await budget.beforeCall('late', 60, b, 1)).toBe(true);
    const snap = await budget.snapshot('late', 60);
    // a window later, the request still counts as long as Autotask counts it (it went out in b + 2)
    expect(usedAt(snap, b + 61)).toBe(2);
    expect(usedAt(snap, b + 62)).toBe(1);
    expect(usedAt(snap, b + 63)).toBe(0);
  });

  it('grants exactly the ceiling to 250 concurrent reservations from 25 workers', async () => {
    const workers = Array.from({ length: 25 }, () => new DynamoBudgetStore(dynamo, tableName));
    const request = { connectionId: 'race', limit: 200, windowSeconds: 3600, ceiling: 160, count: 1 };
    const outcomes = await Promise.all(
      workers.flatMap((worker) => Array.from({ length: 10 }, () => worker.reserve(request))),
    );
    const granted = outcomes.filter((o) => o.granted).length;
    expect(granted).toBe(160);
    const refused = outcomes.filter((o) => !o.granted);
    expect(refused).toHaveLength(90);
    // every refusal says when room opens: when the bucket of the first grants leaves the window
    for (const o of refused) if (!o.granted) expect(o.retryAt).toBeGreaterThan(Date.now() + 3_500_000);
    expect((await workers[0]!.usage('race', 3600)).ours).toBe(160);
  });

  it('never lets two bursts on either side of a window boundary exceed the ceiling in any rolling window', async () => {
    const windowSeconds = 12;
    const ceiling = 80;
    const client = new AutotaskHttpClient({ zoneDiscoveryUrl: sim.zoneDiscoveryUrl });
    const zone = await client.discoverZone(user.username);
    const workers = Array.from({ length: 8 }, () => new DynamoBudgetStore(dynamo, tableName));
    let granted = 0;
    let refused = 0;
    const burst = async (size: number) => {
      await Promise.all(
        Array.from({ length: size }, async (_, i) => {
          const outcome = await workers[i % workers.length]!.reserve({
            connectionId: 'roll',
            limit: 100,
            windowSeconds,
            ceiling,
            count: 1,
          });
          if (!outcome.granted) {
            refused++;
            return;
          }
          granted++;
          await client.send(zone, user, { method: 'GET', path: `/Tickets/${1 + (i % 50)}` });
        }),
      );
    };
    // Align the first burst with the end of a clock window: a fixed-window counter would reset next.
    const boundary = Math.ceil(Date.now() / 12_000) * 12_000 + 12_000;
    await new Promise((resolve) => setTimeout(resolve, boundary - Date.now() - 1500));
    await burst(ceiling);
    await new Promise((resolve) => setTimeout(resolve, boundary - Date.now() + 500));
    await burst(ceiling);
    expect(granted).toBe(ceiling);
    expect(refused).toBe(ceiling);
    expect(sim.maxInRollingWindow({ source: 'ours' })).toBeLessThanOrEqual(ceiling);
    expect(sim.calls({ source: 'ours' }).filter((c) => c.status === 429)).toHaveLength(0);
  });

  it("answers the sync's usage question from its own reservation's copy when that already counts Autotask's total as ours", async () => {
    // a long window: the whole test runs inside one bucket
    const connectionId = 'sync-usage';
    const sync = new DynamoBudgetStore(dynamo, tableName);
    const worker = new DynamoBudgetStore(dynamo, tableName);
    const request = { connectionId, limit: 200, windowSeconds: 3600, ceiling: 160, count: 1 };
    for (let i = 0; i < 3; i++) expect((await worker.reserve(request)).granted).toBe(true);
    expect(await sync.reserveSystem(connectionId, 3600, 190)).toBe(true);
    // two more of ours after the sync's reservation (Autotask may or may not have counted them)
    for (let i = 0; i < 2; i++) expect((await worker.reserve(request)).granted).toBe(true);
    const requests = () => emulators.counters.dynamodbRequests();

    // Autotask counted 4 (3 jobs + the sync's read): the copy already holds 4 of ours, so no other
    // integration can be in it and no read is needed
    let before = requests();
    const fromCopy = await sync.usage(connectionId, 3600, 4);
    expect(requests() - before).toBe(0);
    expect(fromCopy).toMatchObject({ ours: 4, others: 0 });

    // Autotask counted 9: more than the copy's 4, so DynamoDB is read for ours (6 now): 3 are others'
    before = requests();
    const fresh = await sync.usage(connectionId, 3600, 9);
    expect(requests() - before).toBe(1);
    expect(fresh).toMatchObject({ ours: 6, others: 0 });
    // without a total, always a read
    before = requests();
    expect((await sync.usage(connectionId, 3600)).ours).toBe(6);
    expect(requests() - before).toBe(1);
  });

  it('gives a critical job the next thread of an endpoint: others neither take nor keep one while it waits', async () => {
    let now = 1_900_000_000_000 + 100_000;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    };
    const base = { connectionId: 'threads', limit: 1000, windowSeconds: 60, ceiling: 900, count: 1 };
    const thread = (holder: string) => ({ endpoint: 'threads/Tickets', slots: 3, leaseMs: 20_000, holder });
    // three workers with normal jobs hold the endpoint's three threads between their jobs
    const workers = ['n1', 'n2', 'n3'].map((h) => ({
      holder: h,
      store: new DynamoBudgetStore(dynamo, tableName, clock),
    }));
    const leases = [];
    for (const w of workers) {
      const grant = await w.store.reserve({ ...base, priority: 'normal', thread: thread(w.holder) });
      if (!grant.granted || !grant.lease) throw new Error('normal job not granted');
      leases.push(grant.lease);
    }
    // a critical job finds them busy: refused, and it marks the endpoint wanted
    const critical = new DynamoBudgetStore(dynamo, tableName, clock);
    const refused = await critical.reserve({ ...base, priority: 'critical', thread: thread('c1') });
    expect(refused).toMatchObject({ granted: false, reason: 'thread-slot' });
    // a fourth normal worker may not take a thread there, and a holder's next job may not keep its
    // thread: both are told to yield (their copies are read again and show the claim)
    now += 20;
    const fourth = await new DynamoBudgetStore(dynamo, tableName, clock).reserve({
      ...base,
      priority: 'normal',
      thread: thread('n4'),
    });
    expect(fourth).toMatchObject({ granted: false, reason: 'thread-slot', yieldToCritical: true });
    const renewal = await workers[0]!.store.reserve({
      ...base,
      priority: 'normal',
      thread: { ...thread('n1'), held: leases[0] },
    });
    expect(renewal).toMatchObject({ granted: false, reason: 'thread-slot' });
    // the holder gives its thread up (as worker-session does on yieldToCritical) and the critical job gets it
    await workers[0]!.store.release(leases[0]!);
    now += 150; // a critical job trusts its copy's busy threads for 100 ms
    const granted = await critical.reserve({ ...base, priority: 'critical', thread: thread('c1') });
    expect(granted.granted).toBe(true);
    // once the claim has run out, normal jobs take threads again
    now += 1_100;
    await workers[1]!.store.release(leases[1]!);
    const later = await new DynamoBudgetStore(dynamo, tableName, clock).reserve({
      ...base,
      priority: 'normal',
      thread: thread('n5'),
    });
    expect(later.granted).toBe(true);
  });
});
