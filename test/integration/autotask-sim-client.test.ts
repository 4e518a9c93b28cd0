/**
 * The governor's Autotask client against the simulator: zone discovery, paging via nextPage, and
 * the simulator's 429s classified the way the worker needs them. Also checks that the simulator
 * and the client key thread slots by the same rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AutotaskSimulator, endpointOf, startAutotaskSimulator } from '#local/autotask-sim/index.ts';
import { AutotaskHttpClient } from '#shared/autotask/client.ts';
import { endpointOf as clientEndpointOf } from '#shared/autotask/paths.ts';
import type { AutotaskCall, AutotaskCredentials } from '#shared/autotask/types.ts';
import { AutotaskError } from '#shared/errors.ts';
import fixtureJson from '../fixtures/autotask-swagger-subset.json' with { type: 'json' };

const creds: AutotaskCredentials = {
  username: 'client@msp.example',
  secret: 'client-secret',
  integrationCode: 'CLIENT-CODE',
};
let sim: AutotaskSimulator;
let client: AutotaskHttpClient;
let zone: string;

beforeAll(async () => {
  sim = await startAutotaskSimulator({ users: [creds], baseLatencyMs: 0, latencyScale: 0 });
  client = new AutotaskHttpClient({ zoneDiscoveryUrl: sim.zoneDiscoveryUrl });
  zone = await client.discoverZone(creds.username);
});

afterAll(async () => {
  await sim?.stop();
});

const errorOf = async (promise: Promise<unknown>): Promise<AutotaskError> => {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AutotaskError) return err;
    throw err;
  }
  throw new Error('expected an AutotaskError');
};

describe("the governor's client against the simulator", () => {
  it('discovers the zone and reads a ticket', async () => {
    expect(zone).toBe(`${sim.url}/atservicesrest/`);
    const reply = await client.send(zone, creds, { method: 'GET', path: '/Tickets/1' });
    expect(reply.status).toBe(200);
    expect((reply.body as { item: { id: number } }).item.id).toBe(1);
    expect(sim.calls().at(-1)).toMatchObject({
      endpoint: 'Tickets',
      integrationCode: 'CLIENT-CODE',
      status: 200,
    });
  });

  it('follows nextPage through every ticket of a POST query', async () => {
    let next: AutotaskCall | null = {
      method: 'POST',
      path: '/Tickets/query',
      body: { IncludeFields: ['id'], filter: [{ op: 'exist', field: 'id' }] },
    };
    let total = 0;
    let pages = 0;
    while (next) {
      const reply = await client.send(zone, creds, next);
      total += (reply.body as { items: unknown[] }).items.length;
      pages++;
      next = reply.nextPage;
    }
    expect(pages).toBe(3);
    expect(total).toBe(1200);
  });

  it('sees the cap as throttled and the thread limit as thread-limit', async () => {
    sim.setKnobs({ baseLatencyMs: 150 });
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((id) => client.send(zone, creds, { method: 'GET', path: `/Tickets/${id}` })),
    );
    const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(rejected).toHaveLength(1);
    expect((rejected[0]!.reason as AutotaskError).kind).toBe('thread-limit');

    sim.setKnobs({ baseLatencyMs: 0, limit: sim.windowTotal() });
    const capped = await errorOf(client.send(zone, creds, { method: 'GET', path: '/Tickets/1' }));
    expect(capped.kind).toBe('throttled');
    expect(capped.status).toBe(429);

    sim.setKnobs({ limit: 10_000 });
    const missing = await errorOf(client.send(zone, creds, { method: 'GET', path: '/Tickets/987654321' }));
    expect(missing.kind).toBe('client');
    expect(missing.status).toBe(404);
  });

  it('keys thread slots like the client for every swagger path template', () => {
    const templates = new Set(
      Object.values((fixtureJson as { operations: Record<string, string[]> }).operations)
        .flat()
        .map((key) => key.split(' ')[1]!)
        .filter((path) => path.startsWith('/V1.0/') && path !== '/V1.0/EntityInformation')
        .map((path) => path.slice('/V1.0/'.length)),
    );
    expect(templates.size).toBeGreaterThan(1400);
    for (const template of templates) expect(endpointOf(template), template).toBe(clientEndpointOf(template));
  });
});
