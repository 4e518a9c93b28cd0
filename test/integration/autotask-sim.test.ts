/**
 * The Autotask simulator over real HTTP: its answers against the swagger-derived fixture (paths,
 * methods, envelopes), and the rules it enforces (rolling-window cap, latency steps, thread limit,
 * other integrations' load, paging, faults, authentication, control plane).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AutotaskSimulator,
  endpointOf,
  envelopeKindOf,
  type SimOptions,
  type SimUser,
  startAutotaskSimulator,
} from '#local/autotask-sim/index.ts';
import { busiestWindow } from '#local/autotask-sim/rules.ts';
import fixtureJson from '../fixtures/autotask-swagger-subset.json' with { type: 'json' };

interface Envelope {
  keys: string[];
  pageDetails?: string[];
  definition?: string;
}
interface Fixture {
  _source: string;
  counts: { paths: number; operations: number };
  envelopes: Record<string, Envelope>;
  served: Record<
    string,
    { operationId: string; swaggerSchema: string; envelope: string; model: string | null }
  >;
  definitions: Record<string, { swagger: string[]; wire: string[] }>;
  operations: Record<string, string[]>;
}
const fixture = fixtureJson as unknown as Fixture;

const USER: SimUser = { username: 'tests@msp.example', secret: 'pa55-word', integrationCode: 'TEST-CODE' };
const OTHER_USER: SimUser = {
  username: 'other@msp.example',
  secret: 'other-pass',
  integrationCode: 'OTHER-CODE',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));

const authHeaders = (user: SimUser = USER): Record<string, string> => ({
  ApiIntegrationCode: user.integrationCode,
  UserName: user.username,
  Secret: user.secret,
  'Content-Type': 'application/json',
});

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected loosely in tests
  json: any;
  ms: number;
}

/** One request to the simulator; `path` below `/atservicesrest/` (e.g. `v1.0/Tickets/1`) or an absolute URL. */
const call = async (
  sim: AutotaskSimulator,
  method: string,
  path: string,
  body?: unknown,
  init: { user?: SimUser; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Reply> => {
  const url = /^https?:/.test(path) ? path : `${sim.url}/atservicesrest/${path}`;
  const started = performance.now();
  const res = await fetch(url, {
    method,
    headers: init.headers ?? authHeaders(init.user),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, ms: performance.now() - started };
};

const started: AutotaskSimulator[] = [];
const start = async (opts: SimOptions = {}): Promise<AutotaskSimulator> => {
  const sim = await startAutotaskSimulator({
    users: [USER, OTHER_USER],
    baseLatencyMs: 0,
    latencyScale: 0,
    ...opts,
  });
  started.push(sim);
  return sim;
};
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

// ------------------------------------------------------------------ the swagger fixture

/** Every swagger operation as a matcher: `GET /V1.0/Tickets/{id}` -> /^get \/atservicesrest\/v1\.0\/tickets\/[0-9]+$/i. */
const OPERATIONS = Object.entries(fixture.operations).flatMap(([kind, list]) =>
  list.map((key) => {
    const [method, path] = key.split(' ') as [string, string];
    const below = path.replace(/^\/V1\.0\//i, 'v1.0/').replace(/^\//, '');
    const pattern = below
      .split('/')
      .map((s) => (s.startsWith('{') ? '[0-9]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    return { key, method, path, kind, regex: new RegExp(`^/atservicesrest/${pattern}/?$`, 'i') };
  }),
);

const operationFor = (method: string, url: string) => {
  const pathname = new URL(url, 'http://x').pathname;
  return OPERATIONS.find((op) => op.method === method && op.regex.test(pathname));
};

/** Asserts the request exists in the swagger and the 200 answer has exactly the fixture's envelope. */
const expectConformant = (method: string, url: string, reply: Reply): void => {
  const op = operationFor(method, url);
  expect(op, `${method} ${url} is not a swagger operation`).toBeDefined();
  expect(reply.status, `${method} ${url}: ${JSON.stringify(reply.json)}`).toBe(200);
  const envelope = fixture.envelopes[op!.kind]!;
  expect(Object.keys(reply.json).sort(), `${method} ${url}`).toEqual([...envelope.keys].sort());
  const model = fixture.served[op!.key]?.model;
  const modelFields = model ? new Set(fixture.definitions[model]!.wire) : null;
  if (op!.kind === 'query') {
    expect(Array.isArray(reply.json.items)).toBe(true);
    expect(Object.keys(reply.json.pageDetails).sort()).toEqual([...envelope.pageDetails!].sort());
    if (modelFields) {
      const unknown = new Set(reply.json.items.flatMap((item: object) => Object.keys(item)));
      for (const k of modelFields) unknown.delete(k);
      expect([...unknown], `${method} ${url}: not in ${model}`).toEqual([]);
    }
  }
  if (op!.kind === 'item') {
    expect(typeof reply.json.item).toBe('object');
    expect(typeof reply.json.item.id).toBe('number');
    if (modelFields) {
      const unknown = Object.keys(reply.json.item).filter((k) => !modelFields.has(k));
      expect(unknown, `${method} ${url}: not in ${model}`).toEqual([]);
    }
  }
  if (op!.kind === 'itemId') expect(typeof reply.json.itemId).toBe('number');
  if (op!.kind === 'count') expect(typeof reply.json.queryCount).toBe('number');
  if (op!.kind === 'info') {
    expect(Object.keys(reply.json.info).sort()).toEqual(
      [...fixture.definitions.EntityInformationModel!.wire].sort(),
    );
  }
  if (op!.kind === 'fields' && reply.json.fields.length > 0) {
    const names = [...fixture.definitions.FieldInformationModel!.wire].sort();
    for (const field of reply.json.fields) expect(Object.keys(field).sort()).toEqual(names);
  }
};

const SEARCH_ALL = JSON.stringify({ filter: [{ op: 'exist', field: 'id' }] });
const QUERY_ALL = { MaxRecords: 10, filter: [{ op: 'exist', field: 'id' }] };

describe('answers match the swagger fixture', () => {
  let sim: AutotaskSimulator;
  beforeAll(async () => {
    sim = await start({ limit: 1_000_000, threadLimit: 1000 });
  });

  it('has a fixture derived from the swagger', () => {
    expect(fixture._source).toMatch(/autotask-rest-v1\.swagger\.json.*sha256 [0-9a-f]{64}/);
    expect(fixture.counts).toEqual({ paths: 1421, operations: OPERATIONS.length });
    expect(fixture.envelopes.query!.pageDetails).toEqual([
      'count',
      'requestCount',
      'prevPageUrl',
      'nextPageUrl',
    ]);
    expect(fixture.envelopes.count!.keys).toEqual(['queryCount']);
    expect(fixture.envelopes.itemId!.keys).toEqual(['itemId']);
    expect(fixture.definitions.TicketModel!.wire).toContain('companyID');
  });

  it('infers the envelope of every swagger operation from its template the way the swagger names it', () => {
    for (const op of OPERATIONS) {
      const template = op.path.startsWith('/V1.0/') ? op.path.slice('/V1.0/'.length) : `..${op.path}`;
      expect(envelopeKindOf(op.method, template), op.key).toBe(op.kind);
    }
  });

  it('serves zoneInformation, ThresholdInformation, Tickets, ticket notes and Companies with their envelopes', async () => {
    const exercised = new Set<string>();
    const check = async (method: string, path: string, body?: unknown, init?: Parameters<typeof call>[4]) => {
      const reply = await call(sim, method, path, body, init);
      expectConformant(method, `/atservicesrest/${path}`, reply);
      exercised.add(operationFor(method, `/atservicesrest/${path}`)!.key);
      return reply;
    };
    const zone = await check(
      'GET',
      `v1.0/zoneInformation?user=${encodeURIComponent(USER.username)}`,
      undefined,
      {
        headers: {},
      },
    );
    expect(zone.json).toEqual({
      zoneName: 'Local Simulator',
      url: `${sim.url}/atservicesrest/`,
      webUrl: `${sim.url}/`,
      ci: 0,
    });
    const threshold = await check('GET', 'v1.0/ThresholdInformation');
    expect(threshold.json.externalRequestThreshold).toBe(1_000_000);
    expect(threshold.json.requestThresholdTimeframe).toBe(60);

    const search = encodeURIComponent(SEARCH_ALL);
    for (const entity of ['Tickets', 'Companies']) {
      await check('GET', `v1.0/${entity}/1`);
      await check('POST', `v1.0/${entity}/query`, QUERY_ALL);
      await check('GET', `v1.0/${entity}/query?search=${search}`);
      await check('POST', `v1.0/${entity}/query/count`, QUERY_ALL);
      await check('GET', `v1.0/${entity}/query/count?search=${search}`);
      await check('GET', `v1.0/${entity}/entityInformation`);
      await check('GET', `v1.0/${entity}/entityInformation/fields`);
      await check('GET', `v1.0/${entity}/entityInformation/userDefinedFields`);
    }
    const created = await check('POST', 'v1.0/Tickets', {
      title: 'Created by the test',
      companyID: 4,
      priority: 1,
    });
    await check('PATCH', 'v1.0/Tickets', { id: created.json.itemId, status: 5 });
    await check('PUT', 'v1.0/Tickets', { id: 2, title: 'Replaced', companyID: 3, status: 8, priority: 3 });
    const company = await check('POST', 'v1.0/Companies', {
      companyName: 'New Co',
      companyType: 1,
      phone: '555-0199',
      ownerResourceID: 29682885,
    });
    await check('PATCH', 'v1.0/Companies', { id: company.json.itemId, city: 'Springfield' });
    await check('PUT', 'v1.0/Companies', {
      id: 3,
      companyName: 'Renamed',
      companyType: 1,
      phone: '555-0003',
      ownerResourceID: 29682886,
    });

    const notes = await check('GET', 'v1.0/Tickets/5/Notes');
    expect(notes.json.items.length).toBeGreaterThan(0);
    expect(notes.json.items.every((n: { ticketID: number }) => n.ticketID === 5)).toBe(true);
    await check('GET', `v1.0/Tickets/5/Notes/${notes.json.items[0].id}`);
    const note = await check('POST', 'v1.0/Tickets/5/Notes', {
      title: 'From the test',
      description: 'Hello',
      noteType: 1,
      publish: 1,
    });
    await check('PATCH', 'v1.0/Tickets/5/Notes', { id: note.json.itemId, description: 'Edited' });
    await check('PUT', 'v1.0/Tickets/5/Notes', {
      id: note.json.itemId,
      title: 'Replaced',
      description: 'Again',
      noteType: 1,
      publish: 2,
    });
    await check('GET', 'v1.0/Tickets/5/Notes/entityInformation');
    await check('GET', 'v1.0/Tickets/5/Notes/entityInformation/fields');
    await check('GET', 'v1.0/Tickets/5/Notes/entityInformation/userDefinedFields');

    // Every operation the fixture lists for the specially served paths was exercised.
    const special = Object.keys(fixture.served).filter((key) =>
      /^[A-Z]+ \/V1\.0\/(ZoneInformation|ThresholdInformation|Tickets(\/\{parentId\}\/Notes)?|Companies)(\/(\{id\}|query|query\/count|entityInformation.*))?$/.test(
        key,
      ),
    );
    expect(special.length).toBeGreaterThanOrEqual(32);
    expect([...exercised].sort()).toEqual(special.sort());

    // Seeded records carry every property of their swagger model, camelCase as on the wire.
    const wire = (model: string) => [...fixture.definitions[model]!.wire].sort();
    expect(Object.keys((await call(sim, 'GET', 'v1.0/Tickets/9')).json.item).sort()).toEqual(
      wire('TicketModel'),
    );
    expect(Object.keys((await call(sim, 'GET', 'v1.0/Companies/9')).json.item).sort()).toEqual(
      wire('CompanyModel'),
    );
    expect(Object.keys(notes.json.items[0]).sort()).toEqual(wire('TicketNoteModel'));

    // The written data reads back.
    const ticket = await call(sim, 'GET', `v1.0/Tickets/${created.json.itemId}`);
    expect(ticket.json.item).toMatchObject({
      title: 'Created by the test',
      companyID: 4,
      status: 5,
      priority: 1,
    });
    const replaced = await call(sim, 'GET', 'v1.0/Tickets/2');
    expect(replaced.json.item).toMatchObject({ id: 2, title: 'Replaced', companyID: 3, status: 8 });
    expect(replaced.json.item.createDate).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const readNote = await call(sim, 'GET', `v1.0/Tickets/5/Notes/${note.json.itemId}`);
    expect(readNote.json.item).toMatchObject({
      title: 'Replaced',
      description: 'Again',
      ticketID: 5,
      publish: 2,
    });
  });

  it('answers every other swagger operation with the envelope the swagger gives it', async () => {
    const special = /^\/V1\.0\/(ZoneInformation|ThresholdInformation|Tickets|Companies|TicketNotes)(\/|$)/;
    const todo = OPERATIONS.filter(
      (op) =>
        !special.test(op.path) || /^\/V1\.0\/(Tickets|Companies)\/\{parentId\}\/(?!Notes)/.test(op.path),
    );
    expect(todo.length).toBeGreaterThan(1500);
    const requestOf = (op: (typeof todo)[number]): [string, unknown] => {
      const id = op.method === 'DELETE' ? 2 : 1;
      let path = op.path.replace('{parentId}', '1').replace('{id}', String(id));
      path = path.startsWith('/V1.0/') ? `v1.0/${path.slice(6)}` : path.slice(1);
      if (op.kind === 'query' || op.kind === 'count') {
        if (op.method === 'GET' && /\/query(\/count)?$/.test(path))
          path += `?search=${encodeURIComponent(SEARCH_ALL)}`;
        return [path, op.method === 'POST' ? QUERY_ALL : undefined];
      }
      if (op.kind === 'item' && !/\{id\}$/.test(op.path)) return [`${path}?id=1`, undefined];
      if (op.method === 'POST') return [path, {}];
      if (op.method === 'PATCH' || op.method === 'PUT') return [path, { id: 1 }];
      return [path, undefined];
    };
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const op = todo[next++]!;
        const [path, body] = requestOf(op);
        const reply = await call(sim, op.method, path, body);
        try {
          expectConformant(op.method, `/atservicesrest/${path}`, reply);
        } catch (err) {
          failures.push(`${op.key}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(failures).toEqual([]);
  });

  it('refuses paths outside the swagger with 404 and unlisted methods with 405, neither counted', async () => {
    const before = sim.windowTotal();
    const missing = await call(sim, 'GET', 'v1.0/NoSuchEntity/1');
    expect(missing.status).toBe(404);
    expect(missing.json.errors[0]).toMatch(/NoSuchEntity/);
    const wrongMethod = await call(sim, 'DELETE', 'v1.0/Tickets/1');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.json).toEqual({ errors: [expect.stringMatching(/DELETE/)] });
    expect((await call(sim, 'GET', 'v1.0/Tickets/abc')).status).toBe(404);
    expect(sim.windowTotal()).toBe(before);
    const tail = sim.calls().slice(-3);
    expect(tail.map((c) => [c.status, c.outcome, c.countedInWindow])).toEqual([
      [404, 'error', false],
      [405, 'error', false],
      [404, 'error', false],
    ]);
  });

  it('matches paths case-insensitively and answers a missing record with 404 errors', async () => {
    const reply = await call(sim, 'GET', `${sim.url}/ATServicesRest/V1.0/TICKETS/7`);
    expect(reply.status).toBe(200);
    expect(reply.json.item.id).toBe(7);
    const missing = await call(sim, 'GET', 'v1.0/Tickets/987654321');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ errors: [expect.any(String)] });
  });

  it('validates bodies with an errors envelope', async () => {
    const badJson = await fetch(`${sim.url}/atservicesrest/v1.0/Tickets/query`, {
      method: 'POST',
      headers: authHeaders(),
      body: '{"filter": [',
    });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({ errors: [expect.stringMatching(/JSON/)] });
    const noId = await call(sim, 'PATCH', 'v1.0/Tickets', { status: 5 });
    expect(noId.status).toBe(400);
    expect(noId.json.errors[0]).toMatch(/id/);
    const missingField = await call(sim, 'POST', 'v1.0/Tickets', { title: 'no company' });
    expect(missingField.status).toBe(400);
    expect(missingField.json.errors[0]).toMatch(/companyID/);
    const badOp = await call(sim, 'POST', 'v1.0/Tickets/query', {
      filter: [{ op: 'like', field: 'id', value: 1 }],
    });
    expect(badOp.status).toBe(400);
    const badField = await call(sim, 'POST', 'v1.0/Tickets/query', {
      filter: [{ op: 'eq', field: 'nope', value: 1 }],
    });
    expect(badField.status).toBe(400);
    const noSearch = await call(sim, 'GET', 'v1.0/Tickets/query');
    expect(noSearch.status).toBe(400);
  });
});

// ------------------------------------------------------------------ queries and paging

describe('queries', () => {
  let sim: AutotaskSimulator;
  beforeAll(async () => {
    sim = await start({ limit: 100_000, threadLimit: 100 });
  });

  it('pages a POST query through all 1200 tickets by re-POSTing to nextPageUrl, one counted request a page', async () => {
    const body = { filter: [{ op: 'exist', field: 'id' }], IncludeFields: ['id', 'status'] };
    const before = sim.windowTotal();
    const ids: number[] = [];
    const counts: number[] = [];
    let url: string | null = `${sim.url}/atservicesrest/v1.0/Tickets/query`;
    let second: string | null = null;
    while (url) {
      const reply = await call(sim, 'POST', url, body);
      expectConformant('POST', url, reply);
      counts.push(reply.json.pageDetails.count);
      expect(reply.json.pageDetails.requestCount).toBe(500);
      for (const item of reply.json.items) {
        expect(Object.keys(item).sort()).toEqual(['id', 'status']);
        ids.push(item.id);
      }
      if (counts.length === 1) expect(reply.json.pageDetails.prevPageUrl).toBeNull();
      else
        expect(reply.json.pageDetails.prevPageUrl).toMatch(
          /^http:\/\/127\.0\.0\.1:\d+\/atservicesrest\/v1\.0\//,
        );
      url = reply.json.pageDetails.nextPageUrl;
      if (counts.length === 1) second = url;
    }
    expect(counts).toEqual([500, 500, 200]);
    expect(ids).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    expect(sim.windowTotal() - before).toBe(3);

    // and back: the second page's prevPageUrl gives the first page again
    const page2 = await call(sim, 'POST', second!, body);
    const page1 = await call(sim, 'POST', page2.json.pageDetails.prevPageUrl, body);
    expect(page1.json.items.map((i: { id: number }) => i.id)).toEqual(ids.slice(0, 500));
  });

  it('pages a GET query (search in the URL) with MaxRecords', async () => {
    const search = JSON.stringify({ MaxRecords: 400, filter: [{ op: 'gt', field: 'id', value: 0 }] });
    let url: string | null =
      `${sim.url}/atservicesrest/v1.0/Tickets/query?search=${encodeURIComponent(search)}`;
    const counts: number[] = [];
    while (url) {
      const reply = await call(sim, 'GET', url);
      expectConformant('GET', url, reply);
      expect(reply.json.pageDetails.requestCount).toBe(400);
      counts.push(reply.json.pageDetails.count);
      url = reply.json.pageDetails.nextPageUrl;
      if (url) expect(new URL(url).searchParams.get('search')).toBe(search);
    }
    expect(counts).toEqual([400, 400, 400]);
  });

  it('supports every filter operator and and/or grouping', async () => {
    const all = await call(sim, 'POST', 'v1.0/Tickets/query', {
      IncludeFields: ['id', 'status', 'title', 'companyID', 'completedDate', 'createDate'],
      filter: [{ op: 'lte', field: 'id', value: 500 }],
    });
    type T = {
      id: number;
      status: number;
      title: string;
      companyID: number;
      completedDate: string | null;
      createDate: string;
    };
    const tickets = all.json.items as T[];
    expect(tickets).toHaveLength(500);
    const ids = async (filter: unknown[]) => {
      const reply = await call(sim, 'POST', 'v1.0/Tickets/query', {
        IncludeFields: ['id'],
        filter: [{ op: 'lte', field: 'id', value: 500 }, ...filter],
      });
      expect(reply.status, JSON.stringify(reply.json)).toBe(200);
      const count = await call(sim, 'POST', 'v1.0/Tickets/query/count', {
        filter: [{ op: 'lte', field: 'id', value: 500 }, ...filter],
      });
      const found = reply.json.items.map((i: { id: number }) => i.id);
      expect(count.json.queryCount).toBe(found.length);
      return found;
    };
    const expectIds = async (filter: unknown[], predicate: (t: T) => boolean) => {
      const expected = tickets.filter(predicate).map((t) => t.id);
      expect(expected.length, JSON.stringify(filter)).toBeGreaterThan(0);
      expect(await ids(filter), JSON.stringify(filter)).toEqual(expected);
    };
    await expectIds([{ op: 'eq', field: 'status', value: 1 }], (t) => t.status === 1);
    await expectIds([{ op: 'noteq', field: 'Status', value: 1 }], (t) => t.status !== 1);
    await expectIds([{ op: 'gt', field: 'id', value: 490 }], (t) => t.id > 490);
    await expectIds([{ op: 'gte', field: 'id', value: 490 }], (t) => t.id >= 490);
    await expectIds([{ op: 'lt', field: 'id', value: 3 }], (t) => t.id < 3);
    await expectIds([{ op: 'lte', field: 'id', value: 3 }], (t) => t.id <= 3);
    await expectIds([{ op: 'beginsWith', field: 'title', value: 'printer' }], (t) =>
      t.title.startsWith('Printer'),
    );
    await expectIds([{ op: 'endsWith', field: 'title', value: '#7' }], (t) => t.title.endsWith('#7'));
    await expectIds([{ op: 'contains', field: 'title', value: 'VPN' }], (t) => t.title.includes('VPN'));
    await expectIds([{ op: 'exist', field: 'completedDate' }], (t) => t.completedDate !== null);
    await expectIds([{ op: 'notExist', field: 'completedDate' }], (t) => t.completedDate === null);
    await expectIds([{ op: 'in', field: 'companyID', value: [1, 2] }], (t) => [1, 2].includes(t.companyID));
    await expectIds([{ op: 'notIn', field: 'status', value: [1, 5] }], (t) => ![1, 5].includes(t.status));
    await expectIds(
      [{ op: 'gt', field: 'createDate', value: '2024-01-05T00:00:00Z' }],
      (t) => t.createDate > '2024-01-05T00:00:00',
    );
    await expectIds(
      [
        {
          op: 'or',
          items: [
            { op: 'eq', field: 'companyID', value: 3 },
            {
              op: 'and',
              items: [
                { op: 'eq', field: 'status', value: 5 },
                { op: 'lt', field: 'id', value: 50 },
              ],
            },
          ],
        },
      ],
      (t) => t.companyID === 3 || (t.status === 5 && t.id < 50),
    );
  });
});

// ------------------------------------------------------------------ the rules

describe('the rolling-window cap', () => {
  it('answers 429 with a threshold error once the window holds the limit, does not count refusals, and lets requests through as the window rolls', async () => {
    const sim = await start({ limit: 5, windowSeconds: 2 });
    for (let i = 0; i < 3; i++) expect((await call(sim, 'GET', 'v1.0/Tickets/1')).status).toBe(200);
    const t0 = sim.calls()[0]!.at;
    await sleepUntil(t0 + 1000);
    for (let i = 0; i < 2; i++) expect((await call(sim, 'GET', 'v1.0/Tickets/1')).status).toBe(200);
    const refused = await call(sim, 'GET', 'v1.0/Tickets/1');
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({
      errors: [expect.stringMatching(/threshold of 5 requests per 2 seconds exceeded/)],
    });
    expect(refused.json.errors[0]).not.toMatch(/thread/i);
    expect((await call(sim, 'GET', 'v1.0/ThresholdInformation')).status).toBe(429);
    expect(sim.windowTotal()).toBe(5);
    const last = sim.calls().at(-1)!;
    expect(last).toMatchObject({
      status: 429,
      outcome: 'throttled',
      countedInWindow: false,
      windowTotalAtReceipt: 5,
    });

    // Rolling, not clock-aligned: once the first three leave, three more fit; the other two still count.
    const firstThree = sim.calls().slice(0, 3);
    await sleepUntil(Math.max(...firstThree.map((c) => c.at)) + 2000 + 30);
    expect(sim.windowTotal()).toBe(2);
    for (let i = 0; i < 3; i++) expect((await call(sim, 'GET', 'v1.0/Tickets/1')).status).toBe(200);
    expect((await call(sim, 'GET', 'v1.0/Tickets/1')).status).toBe(429);
    expect(sim.maxInRollingWindow()).toBe(5);
    expect(sim.usage()).toMatchObject({ limit: 5, windowSeconds: 2, windowTotal: 5, throttled429: 3 });
  });

  it('counts ThresholdInformation itself and reports the whole database, other integrations included', async () => {
    const sim = await start({ limit: 50 });
    await call(sim, 'GET', 'v1.0/Tickets/1');
    await call(sim, 'GET', 'v1.0/Companies/1');
    sim.addOtherCalls(4);
    const reply = await call(sim, 'GET', 'v1.0/ThresholdInformation');
    expect(reply.json).toEqual({
      externalRequestThreshold: 50,
      requestThresholdTimeframe: 60,
      currentTimeframeRequestCount: 7,
    });
  });

  it('refuses our requests when other integrations filled the window, and refuses theirs at the cap too', async () => {
    const sim = await start({ limit: 10 });
    sim.addOtherCalls(12);
    expect(sim.windowTotal()).toBe(10);
    const others = sim.calls({ source: 'other' });
    expect(others).toHaveLength(12);
    expect(others.filter((c) => c.outcome === 'throttled' && !c.countedInWindow)).toHaveLength(2);
    expect(others.every((c) => c.integrationCode.startsWith('OTHER-'))).toBe(true);
    expect((await call(sim, 'GET', 'v1.0/Tickets/1')).status).toBe(429);
    expect(sim.usage()).toMatchObject({ ours: 0, others: 10, windowTotal: 10 });
  });
});

describe('added latency near the cap', () => {
  it('adds 0.5 s x scale from 50 % of the limit and 1 s x scale from 75 %', async () => {
    const sim = await start({ limit: 8, latencyScale: 0.2 });
    const ms: number[] = [];
    for (let i = 0; i < 8; i++) ms.push((await call(sim, 'GET', 'v1.0/Tickets/1')).ms);
    // window totals (including the request) 1..8: < 4 none, 4-5 +100 ms, 6-8 +200 ms
    for (const t of ms.slice(0, 3)) expect(t).toBeLessThan(80);
    for (const t of ms.slice(3, 5)) {
      expect(t).toBeGreaterThanOrEqual(95);
      expect(t).toBeLessThan(180);
    }
    for (const t of ms.slice(5)) {
      expect(t).toBeGreaterThanOrEqual(195);
      expect(t).toBeLessThan(290);
    }
    const served = sim.calls().map((c) => c.doneAt - c.at);
    expect(served[7]).toBeGreaterThanOrEqual(195);
  });
});

describe('the thread limit', () => {
  it('allows 3 concurrent requests per integration code per endpoint and refuses the rest with Itgenatr005, counted', async () => {
    const sim = await start({ baseLatencyMs: 200 });
    const replies = await Promise.all([
      ...[1, 2, 3, 4, 5].map((id) => call(sim, 'GET', `v1.0/Tickets/${id}`)),
      call(sim, 'POST', 'v1.0/Tickets/query/count', QUERY_ALL),
      call(sim, 'GET', 'v1.0/Companies/1'),
      call(sim, 'GET', 'v1.0/Companies/2'),
      call(sim, 'GET', 'v1.0/Tickets/6', undefined, { user: OTHER_USER }),
    ]);
    const tickets = replies.slice(0, 6);
    expect(tickets.filter((r) => r.status === 200)).toHaveLength(3);
    const limited = tickets.filter((r) => r.status === 429);
    expect(limited).toHaveLength(3);
    for (const r of limited) {
      expect(r.json.errors[0]).toBe(
        'Thread Threshold Exceeded — Itgenatr005: the limit of 3 threads has been exceeded for this endpoint',
      );
      expect(r.ms).toBeLessThan(400);
    }
    // another endpoint, and another integration code on the same endpoint, are unaffected
    expect(replies.slice(6).map((r) => r.status)).toEqual([200, 200, 200]);
    const calls = sim.calls();
    expect(calls.filter((c) => c.outcome === 'thread-limit')).toHaveLength(3);
    expect(calls.every((c) => c.countedInWindow)).toBe(true);
    expect(sim.windowTotal()).toBe(9);
    expect(sim.usage().threadLimited).toBe(3);
    // slots are released when answers are sent
    const again = await Promise.all([1, 2, 3].map((id) => call(sim, 'GET', `v1.0/Tickets/${id}`)));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200]);
  });
});

describe("other integrations' load", () => {
  it('records steady and bursty synthetic calls at the configured average rate, counted against the cap', async () => {
    const [steady, bursty] = await Promise.all([
      start({ windowSeconds: 2, otherIntegrations: { requestsPerWindow: 200 } }),
      start({
        windowSeconds: 2,
        otherIntegrations: { requestsPerWindow: 200, bursty: true, burstEverySeconds: 0.5 },
      }),
    ]);
    const t0 = Date.now();
    await sleep(1100);
    const elapsed = Date.now() - t0;
    const steadyCalls = steady.calls({ source: 'other' });
    const expected = (200 / 2000) * elapsed;
    expect(steadyCalls.length).toBeGreaterThan(expected * 0.7);
    expect(steadyCalls.length).toBeLessThan(expected * 1.3);
    expect(steady.calls({ source: 'ours' })).toHaveLength(0);
    expect(steady.windowTotal()).toBe(steadyCalls.length);
    expect(
      steadyCalls.every(
        (c) => c.countedInWindow && c.source === 'other' && c.integrationCode.startsWith('OTHER-'),
      ),
    ).toBe(true);
    // steady: no big gaps, no big clumps
    const gaps = steadyCalls.slice(1).map((c, i) => c.at - steadyCalls[i]!.at);
    expect(Math.max(...gaps)).toBeLessThan(100);

    // bursty: 50 calls at t = 0, 0.5 s, 1.0 s
    const burstCalls = bursty.calls({ source: 'other' });
    expect(burstCalls).toHaveLength(150);
    const burstStarts = burstCalls.filter((c, i) => i === 0 || c.at - burstCalls[i - 1]!.at > 200);
    expect(burstStarts).toHaveLength(3);
    expect(bursty.maxInRollingWindow({ source: 'other' })).toBe(150);

    steady.setKnobs({ otherIntegrations: { requestsPerWindow: 0 } });
    const stopped = steady.calls({ source: 'other' }).length;
    await sleep(100);
    expect(steady.calls({ source: 'other' }).length).toBe(stopped);
  });
});

describe('maxInRollingWindow', () => {
  it('finds the busiest rolling window of a known log', () => {
    expect(busiestWindow([], 1000)).toBe(0);
    expect(busiestWindow([0, 100, 900, 1000, 1001, 2500], 1000)).toBe(4); // (1, 1001]
    expect(busiestWindow([0, 1000, 2000], 1000)).toBe(1); // (t - w, t] excludes t - w
    expect(busiestWindow([5, 5, 5, 3000, 3001], 1000)).toBe(3);
    expect(busiestWindow([3001, 5, 3000, 5, 5], 1000)).toBe(3);
  });

  it('computes it over the log by source and time range', async () => {
    const sim = await start({ windowSeconds: 0.5 });
    sim.addOtherCalls(4);
    await call(sim, 'GET', 'v1.0/Tickets/1');
    await sleep(600);
    const later = Date.now();
    sim.addOtherCalls(3);
    await call(sim, 'GET', 'v1.0/Tickets/1');
    await call(sim, 'GET', 'v1.0/Tickets/2');
    expect(sim.windowTotal()).toBe(5);
    expect(sim.maxInRollingWindow()).toBe(5);
    expect(sim.maxInRollingWindow({ source: 'all' })).toBe(5);
    expect(sim.maxInRollingWindow({ source: 'other' })).toBe(4);
    expect(sim.maxInRollingWindow({ source: 'ours' })).toBe(2);
    expect(sim.maxInRollingWindow({ source: 'other', from: later })).toBe(3);
    expect(sim.maxInRollingWindow({ to: later - 1 })).toBe(5);
    expect(sim.maxInRollingWindow({ from: later, to: later + 60_000 })).toBe(5);
  });
});

describe('injected faults', () => {
  it('answers http500 / http400 the given number of times on matching requests, counted', async () => {
    const sim = await start();
    sim.injectFault({ match: { pathPrefix: '/atservicesrest/v1.0/Companies' }, count: 2, kind: 'http500' });
    sim.injectFault({ match: { method: 'POST', pathPrefix: '/Tickets/query' }, count: 1, kind: 'http400' });
    expect((await call(sim, 'GET', 'v1.0/Tickets/1')).status).toBe(200);
    const first = await call(sim, 'GET', 'v1.0/Companies/1');
    expect(first.status).toBe(500);
    expect(first.json).toEqual({ errors: [expect.any(String)] });
    expect((await call(sim, 'GET', 'v1.0/companies/2')).status).toBe(500);
    expect((await call(sim, 'GET', 'v1.0/Companies/1')).status).toBe(200);
    expect(
      (await call(sim, 'GET', `v1.0/Tickets/query?search=${encodeURIComponent(SEARCH_ALL)}`)).status,
    ).toBe(200);
    expect((await call(sim, 'POST', 'v1.0/Tickets/query', QUERY_ALL)).status).toBe(400);
    expect((await call(sim, 'POST', 'v1.0/Tickets/query', QUERY_ALL)).status).toBe(200);
    const outcomes = sim.calls().map((c) => `${c.status}:${c.outcome}:${c.countedInWindow}`);
    expect(outcomes).toEqual([
      '200:ok:true',
      '500:fault:true',
      '500:fault:true',
      '200:ok:true',
      '200:ok:true',
      '400:fault:true',
      '200:ok:true',
    ]);
  });

  it('resets the connection, or holds the request until the client gives up, releasing the thread slot', async () => {
    const sim = await start({ threadLimit: 1 });
    sim.injectFault({ match: { pathPrefix: '/Tickets/1' }, count: 1, kind: 'reset' });
    await expect(call(sim, 'GET', 'v1.0/Tickets/1')).rejects.toThrow();
    sim.injectFault({ count: 1, kind: 'timeout' });
    const t0 = Date.now();
    await expect(
      call(sim, 'GET', 'v1.0/Tickets/2', undefined, { signal: AbortSignal.timeout(300) }),
    ).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(1000);
    await sleep(50);
    // the slot held by the timed-out request was released when the client went away
    expect((await call(sim, 'GET', 'v1.0/Tickets/3')).status).toBe(200);
    const [reset, timeout, ok] = sim.calls();
    expect(reset).toMatchObject({ status: 0, outcome: 'fault', countedInWindow: true });
    expect(timeout).toMatchObject({ status: 0, outcome: 'fault', countedInWindow: true });
    expect(timeout!.doneAt - timeout!.at).toBeGreaterThanOrEqual(250);
    expect(ok).toMatchObject({ status: 200, outcome: 'ok' });
  });
});

describe('authentication and zone look-ups', () => {
  it('answers 401 for a wrong user or secret and 500 for an unknown integration code, none counted', async () => {
    const sim = await start();
    const wrongSecret = await call(sim, 'GET', 'v1.0/Tickets/1', undefined, {
      user: { ...USER, secret: 'nope' },
    });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.json).toEqual({ errors: [expect.any(String)] });
    const noHeaders = await call(sim, 'GET', 'v1.0/Tickets/1', undefined, { headers: {} });
    expect(noHeaders.status).toBe(401);
    const badCode = await call(sim, 'GET', 'v1.0/Tickets/1', undefined, {
      user: { ...USER, integrationCode: 'UNKNOWN' },
    });
    expect(badCode.status).toBe(500);
    expect(badCode.json).toEqual({ errors: ['IntegrationCode is invalid.'] });
    const shouting = await call(sim, 'GET', 'v1.0/Tickets/1', undefined, {
      headers: {
        APIINTEGRATIONCODE: USER.integrationCode,
        username: USER.username.toUpperCase(),
        SECRET: USER.secret,
      },
    });
    expect(shouting.status).toBe(200);
    expect(sim.windowTotal()).toBe(1);
    expect(sim.calls().map((c) => c.countedInWindow)).toEqual([false, false, false, true]);
  });

  it('answers zone look-ups without credentials, uncounted and logged apart; an unknown user gets 500', async () => {
    const sim = await start({ limit: 1 });
    await call(sim, 'GET', 'v1.0/Tickets/1');
    const zone = await call(
      sim,
      'GET',
      `${sim.zoneDiscoveryUrl}/v1.0/zoneInformation?user=${encodeURIComponent(USER.username)}`,
      undefined,
      {
        headers: {},
      },
    );
    expect(zone.status).toBe(200); // even with the cap reached
    expect(zone.json.url).toBe(`${sim.url}/atservicesrest/`);
    const unknown = await call(sim, 'GET', `v1.0/zoneInformation?user=nobody%40example.com`, undefined, {
      headers: {},
    });
    expect(unknown.status).toBe(500);
    expect(unknown.json).toEqual({ errors: ['Zone information could not be determined'] });
    sim.injectFault({
      match: { pathPrefix: '/atservicesrest/v1.0/zoneInformation' },
      count: 1,
      kind: 'http500',
    });
    expect(
      (await call(sim, 'GET', `v1.0/zoneInformation?user=${USER.username}`, undefined, { headers: {} }))
        .status,
    ).toBe(500);
    expect(sim.calls()).toHaveLength(1);
    expect(sim.zoneLookups().map((c) => [c.status, c.outcome, c.countedInWindow])).toEqual([
      [200, 'ok', false],
      [500, 'error', false],
      [500, 'fault', false],
    ]);
    expect(sim.windowTotal()).toBe(1);
  });
});

describe('the control plane', () => {
  it('reports usage and calls, sets knobs, injects faults and resets over HTTP, uncounted and unauthenticated', async () => {
    const sim = await start({ limit: 100 });
    const control = async (method: string, action: string, body?: unknown) => {
      const res = await fetch(`${sim.url}/_sim/${action}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      return { status: res.status, json: (await res.json()) as Reply['json'] };
    };
    const created = await call(sim, 'POST', 'v1.0/Tickets', { title: 'survives reset', companyID: 1 });
    await call(sim, 'GET', 'v1.0/Tickets/1');
    sim.addOtherCalls(2);
    expect((await control('GET', 'usage')).json).toEqual({
      limit: 100,
      windowSeconds: 3600,
      windowTotal: 4,
      ours: 2,
      others: 2,
      maxRollingWindow: 4,
      maxRollingWindowOurs: 2,
      throttled429: 0,
      threadLimited: 0,
    });
    const ours = (await control('GET', 'calls?source=ours')).json as Array<{ seq: number }>;
    expect(ours).toHaveLength(2);
    expect((await control('GET', `calls?sinceSeq=${ours[0]!.seq}`)).json).toHaveLength(3);

    const knobs = await control('POST', 'knobs', { limit: 4, latencyScale: 0.5 });
    expect(knobs.json).toMatchObject({ limit: 4, latencyScale: 0.5, windowSeconds: 3600, threadLimit: 3 });
    expect(sim.knobs().limit).toBe(4);
    expect((await control('GET', 'knobs')).json.limit).toBe(4);
    expect((await call(sim, 'GET', 'v1.0/Tickets/1')).status).toBe(429);
    expect((await control('POST', 'knobs', { limit: -1 })).status).toBe(400);

    expect((await control('POST', 'faults', { count: 1, kind: 'http500' })).status).toBe(200);
    expect((await control('POST', 'reset')).status).toBe(200);
    expect(sim.calls()).toHaveLength(0);
    expect(sim.windowTotal()).toBe(0);
    // reset cleared the fault, kept the data and the knobs
    const after = await call(sim, 'GET', `v1.0/Tickets/${created.json.itemId}`);
    expect(after.status).toBe(200);
    expect(after.json.item.title).toBe('survives reset');
    expect(sim.knobs().limit).toBe(4);
    expect(sim.windowTotal()).toBe(1);
    expect((await control('GET', 'nope')).status).toBe(404);
  });
});

describe('endpointOf', () => {
  it('keys thread slots by entity path without ids, query, count and entityInformation', () => {
    expect(endpointOf('/Tickets/123')).toBe('Tickets');
    expect(endpointOf('/Tickets/query')).toBe('Tickets');
    expect(endpointOf('/Tickets/query/count')).toBe('Tickets');
    expect(endpointOf('/Tickets/42/Notes')).toBe('Tickets/Notes');
    expect(endpointOf('/Tickets/42/Notes/7')).toBe('Tickets/Notes');
    expect(endpointOf('/Tickets/entityInformation/fields')).toBe('Tickets');
    expect(endpointOf('Tickets/{parentId}/Notes/{id}')).toBe('Tickets/Notes');
    expect(endpointOf('/atservicesrest/v1.0/Companies/2?x=1')).toBe('Companies');
    expect(endpointOf('/ThresholdInformation')).toBe('ThresholdInformation');
  });
});
