/**
 * The simulator's queries see updates (issue 22): a query reads a sorted list the collection keeps,
 * and a PATCH or PUT (which store a new object under an existing id) must reach it, not only GET.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AutotaskSimulator, type SimUser, startAutotaskSimulator } from '#local/autotask-sim/index.ts';

const USER: SimUser = {
  username: 'cache@msp.example',
  secret: 'cache-secret',
  integrationCode: 'CACHE-CODE',
};
let sim: AutotaskSimulator;

beforeAll(async () => {
  sim = await startAutotaskSimulator({ users: [USER], baseLatencyMs: 0, latencyScale: 0, seedTickets: 50 });
});

afterAll(async () => {
  await sim?.stop();
});

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected loosely in tests
const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
  const res = await fetch(`${sim.url}/atservicesrest/v1.0/${path}`, {
    method,
    headers: {
      ApiIntegrationCode: USER.integrationCode,
      UserName: USER.username,
      Secret: USER.secret,
      'Content-Type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
};

/** The ticket as a POST query, a GET query (search in the URL) and GET /Tickets/{id} return it. */
const readAllWays = async (id: number) => {
  const filter = { filter: [{ op: 'eq', field: 'id', value: id }] };
  const posted = await call('POST', 'Tickets/query', filter);
  const searched = await call('GET', `Tickets/query?search=${encodeURIComponent(JSON.stringify(filter))}`);
  const got = await call('GET', `Tickets/${id}`);
  expect([posted.status, searched.status, got.status]).toEqual([200, 200, 200]);
  return { posted: posted.json.items[0], searched: searched.json.items[0], got: got.json.item };
};

describe("the simulator's query cache", () => {
  it('a query after a PATCH returns the new values, as GET does', async () => {
    // a query first, so the sorted list the query path reads is built before the update
    expect((await readAllWays(7)).posted.title).not.toBe('Patched title');
    const patched = await call('PATCH', 'Tickets', { id: 7, title: 'Patched title', status: 5 });
    expect(patched.status).toBe(200);
    const after = await readAllWays(7);
    expect(after.got).toMatchObject({ id: 7, title: 'Patched title', status: 5 });
    expect(after.posted).toMatchObject({ id: 7, title: 'Patched title', status: 5 });
    expect(after.searched).toMatchObject({ id: 7, title: 'Patched title', status: 5 });
    // a filter on the new value finds it; the old value no longer does
    const byTitle = await call('POST', 'Tickets/query', {
      filter: [{ op: 'eq', field: 'title', value: 'Patched title' }],
    });
    expect(byTitle.json.items.map((t: { id: number }) => t.id)).toEqual([7]);
    const count = await call('POST', 'Tickets/query/count', {
      filter: [{ op: 'eq', field: 'title', value: 'Patched title' }],
    });
    expect(count.json.queryCount).toBe(1);
  });

  it('a query after a PUT returns the new values', async () => {
    await readAllWays(8);
    const put = await call('PUT', 'Tickets', { id: 8, title: 'Replaced title', companyID: 3, status: 8 });
    expect(put.status).toBe(200);
    const after = await readAllWays(8);
    expect(after.got).toMatchObject({ id: 8, title: 'Replaced title', companyID: 3, status: 8 });
    expect(after.posted).toMatchObject({ id: 8, title: 'Replaced title', companyID: 3, status: 8 });
    expect(after.searched).toMatchObject({ id: 8, title: 'Replaced title', companyID: 3, status: 8 });
  });

  it('queries still list in id order and see creates after updates', async () => {
    await call('PATCH', 'Tickets', { id: 9, title: 'Again' });
    const created = await call('POST', 'Tickets', { title: 'Brand new', companyID: 2 });
    expect(created.status).toBe(200);
    const all = await call('POST', 'Tickets/query', {
      IncludeFields: ['id', 'title'],
      filter: [{ op: 'exist', field: 'id' }],
    });
    const ids = all.json.items.map((t: { id: number }) => t.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids).toContain(created.json.itemId);
    expect(all.json.items.find((t: { id: number }) => t.id === 9).title).toBe('Again');
  });
});
