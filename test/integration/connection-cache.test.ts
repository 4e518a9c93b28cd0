import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedConnections } from '#shared/connections/cached-store.ts';
import { DynamoConnectionStore } from '#shared/connections/store.ts';
import { type LocalTable, startLocalTable } from '../support/local-table.ts';

let local: LocalTable;
let dynamo: DynamoDBClient;
let tableName: string;
let store: DynamoConnectionStore;
/** DynamoDB requests made through `dynamo`, by command name. */
const sent: Record<string, number> = {};

const settings = (apiUser = 'api@msp.example') => ({
  apiUser,
  integrationCode: 'CODE',
  secretRef: 'autotask-governor/test/connections/x',
});

beforeAll(async () => {
  local = await startLocalTable('conn-cache');
  ({ dynamo, tableName } = local);
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      sent[name] = (sent[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  store = new DynamoConnectionStore(dynamo, tableName);
});

afterAll(async () => {
  await local?.stop();
});

const requests = () => Object.values(sent).reduce((a, b) => a + b, 0);
const resetCount = () => {
  for (const k of Object.keys(sent)) delete sent[k];
};

describe('connection listing for the sync', () => {
  it('re-reads the settings only when some connection changed (one index read otherwise)', async () => {
    await store.put('a', settings());
    await store.put('b', settings());
    const first = await store.listSince();
    expect(first.connections.map((c) => c.connectionId)).toEqual(['a', 'b']);

    resetCount();
    const again = await store.listSince(first);
    expect(again).toBe(first);
    expect(sent).toEqual({ GetItemCommand: 1 });

    // a changed setting (not a new id) is picked up too
    await store.put('b', { ...settings(), enabled: false });
    resetCount();
    const changed = await store.listSince(again);
    expect(changed.version).toBeGreaterThan(first.version);
    expect(changed.connections.find((c) => c.connectionId === 'b')?.enabled).toBe(false);
    expect(sent.BatchGetItemCommand).toBe(1);

    await store.put('c', settings());
    const added = await store.listSince(changed);
    expect(added.connections.map((c) => c.connectionId)).toEqual(['a', 'b', 'c']);
  });
});

describe('cached connections in a worker container', () => {
  it('reads a connection once for many concurrent jobs', async () => {
    await store.put('d', settings());
    const cached = new CachedConnections(store);
    resetCount();
    const got = await Promise.all(Array.from({ length: 20 }, () => cached.get('d')));
    expect(got.every((c) => c?.connectionId === 'd')).toBe(true);
    expect(requests()).toBe(1);
  });

  it('discovers and stores the zone once however many jobs ask at once, again for another API user', async () => {
    await store.put('e', settings());
    const cached = new CachedConnections(store);
    const connection = await cached.get('e');
    if (!connection) throw new Error('connection e missing');
    let discoveries = 0;
    const discover = async () => {
      discoveries++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'https://webservices15.autotask.net/atservicesrest';
    };
    resetCount();
    const zones = await Promise.all(Array.from({ length: 20 }, () => cached.zoneFor(connection, discover)));
    expect(new Set(zones)).toEqual(new Set(['https://webservices15.autotask.net/atservicesrest']));
    expect(discoveries).toBe(1);
    expect(sent.UpdateItemCommand).toBe(1); // stored once
    expect((await store.get('e'))?.zoneUrl).toBe('https://webservices15.autotask.net/atservicesrest');

    // a listing taken before the zone was stored still gets it without a second discovery
    await cached.zoneFor({ ...connection, zoneUrl: undefined }, discover);
    expect(discoveries).toBe(1);
    // another API user may live in another zone
    await cached.zoneFor({ ...connection, apiUser: 'other@msp.example', zoneUrl: undefined }, discover);
    expect(discoveries).toBe(2);
  });

  it('lets a failed discovery be tried again by the next job', async () => {
    await store.put('f', settings());
    const cached = new CachedConnections(store);
    const connection = await store.get('f');
    if (!connection) throw new Error('connection f missing');
    await expect(
      cached.zoneFor(connection, async () => {
        throw new Error('zone lookup failed');
      }),
    ).rejects.toThrow('zone lookup failed');
    expect(
      await cached.zoneFor(connection, async () => 'https://webservices2.autotask.net/atservicesrest'),
    ).toBe('https://webservices2.autotask.net/atservicesrest');
  });
});
