import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AutotaskHttpClient } from '#shared/autotask/client.ts';
import type { AutotaskCredentials } from '#shared/autotask/types.ts';
import { AutotaskError } from '#shared/errors.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const SECRET = 'Sup3r-S3cret-value';
const creds: AutotaskCredentials = {
  username: 'api@msp.example',
  secret: SECRET,
  integrationCode: 'INTEGRATION-CODE-1',
};

let server: Server;
let origin: string;
let zoneUrl: string;
let seen: Seen[] = [];
let handler: Handler = (_req, res) => json(res, 200, {});
const client = () => new AutotaskHttpClient({ zoneDiscoveryUrl: `${origin}/atservicesrest` });

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
};

/** Runs `fn`, expecting an AutotaskError, and returns it. */
const failure = async (fn: () => Promise<unknown>): Promise<AutotaskError> => {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AutotaskError);
    const error = err as AutotaskError;
    expect(error.message).not.toContain(SECRET);
    return error;
  }
  throw new Error('expected an AutotaskError');
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  zoneUrl = `${origin}/atservicesrest/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  handler = (_req, res) => json(res, 200, {});
});

describe('zone discovery', () => {
  it('asks zoneInformation without credentials and returns the zone url with a trailing slash', async () => {
    handler = (_req, res) =>
      json(res, 200, {
        zoneName: 'Zone 3',
        url: 'https://webservices3.autotask.net/atservicesrest',
        webUrl: 'https://ww3.autotask.net/',
        ci: 0,
      });
    const zone = await client().discoverZone('a+b @msp.example');
    expect(zone).toBe('https://webservices3.autotask.net/atservicesrest/');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('GET');
    expect(seen[0]!.url).toBe('/atservicesrest/v1.0/zoneInformation?user=a%2Bb%20%40msp.example');
    expect(new URL(seen[0]!.url, origin).searchParams.get('user')).toBe('a+b @msp.example');
    for (const header of ['secret', 'username', 'apiintegrationcode'])
      expect(seen[0]!.headers).not.toHaveProperty(header);
  });

  it('keeps a trailing slash that is already there and accepts the swagger casing "Url"', async () => {
    handler = (_req, res) => json(res, 200, { Url: `${origin}/atservicesrest/` });
    expect(await client().discoverZone('u@x.example')).toBe(`${origin}/atservicesrest/`);
  });

  it('reports an unknown user as a client error', async () => {
    handler = (_req, res) => json(res, 500, { errors: ['Zone information could not be determined'] });
    const err = await failure(() => client().discoverZone('nobody@msp.example'));
    expect(err.kind).toBe('client');
    expect(err.status).toBe(500);
    expect(err.message).toBe(
      'zone discovery failed for nobody@msp.example: Zone information could not be determined',
    );
    expect(err.errors).toEqual(['Zone information could not be determined']);
  });

  it('reports an outage as a server error and a missing url as a server error', async () => {
    handler = (_req, res) => {
      res.writeHead(503);
      res.end('Service Unavailable');
    };
    const outage = await failure(() => client().discoverZone('u@x.example'));
    expect(outage.kind).toBe('server');
    expect(outage.retryable).toBe(true);
    handler = (_req, res) => json(res, 200, { zoneName: 'x' });
    expect((await failure(() => client().discoverZone('u@x.example'))).kind).toBe('server');
  });

  it('reports an unreachable discovery host as a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(() =>
      new AutotaskHttpClient({ zoneDiscoveryUrl: `http://127.0.0.1:${port}/x` }).discoverZone('u@x'),
    );
    expect(err.kind).toBe('network');
  });
});

describe('send', () => {
  it('sends exactly the Autotask headers to zone + v1.0 + path', async () => {
    handler = (_req, res) => json(res, 200, { item: { id: 9, title: 'Printer on fire' } });
    const reply = await client().send(
      zoneUrl,
      { ...creds, impersonationResourceId: 29682885 },
      { method: 'GET', path: '/Tickets/9' },
    );
    expect(reply).toEqual({
      status: 200,
      body: { item: { id: 9, title: 'Printer on fire' } },
      nextPage: null,
    });
    const [request] = seen;
    expect(request!.method).toBe('GET');
    expect(request!.url).toBe('/atservicesrest/v1.0/Tickets/9');
    expect(request!.body).toBe('');
    const {
      host,
      connection,
      'user-agent': _ua,
      'accept-encoding': _ae,
      'accept-language': _al,
      'sec-fetch-mode': _sf,
      ...rest
    } = request!.headers;
    expect(rest).toEqual({
      apiintegrationcode: 'INTEGRATION-CODE-1',
      username: 'api@msp.example',
      secret: SECRET,
      impersonationresourceid: '29682885',
      'content-type': 'application/json',
      accept: 'application/json',
    });
  });

  it('leaves out ImpersonationResourceId when it is not set and accepts a zone url without trailing slash', async () => {
    await client().send(`${origin}/atservicesrest`, creds, { method: 'GET', path: '/ThresholdInformation' });
    expect(seen[0]!.url).toBe('/atservicesrest/v1.0/ThresholdInformation');
    expect(seen[0]!.headers).not.toHaveProperty('impersonationresourceid');
  });

  it('encodes the query string', async () => {
    const search = JSON.stringify({ filter: [{ op: 'eq', field: 'title', value: 'a&b=c d/é' }] });
    await client().send(zoneUrl, creds, {
      method: 'GET',
      path: '/Tickets/query',
      query: { search, 'odd key': '1+1' },
    });
    const url = new URL(seen[0]!.url, origin);
    expect(url.pathname).toBe('/atservicesrest/v1.0/Tickets/query');
    expect(url.searchParams.get('search')).toBe(search);
    expect(url.searchParams.get('odd key')).toBe('1+1');
    expect(seen[0]!.url).not.toContain(' ');
    expect(seen[0]!.url).not.toContain('&b=');
  });

  it('sends a JSON body for POST, PATCH and PUT and returns the envelopes', async () => {
    const envelopes: Record<string, unknown> = {
      POST: { itemId: 29683664 },
      PATCH: { itemId: 29683664 },
      PUT: { itemId: 29683664 },
    };
    handler = (req, res) => json(res, 200, envelopes[req.method ?? '']);
    for (const method of ['POST', 'PATCH', 'PUT'] as const) {
      const body = { id: 29683664, title: 'Updated', status: 5 };
      const reply = await client().send(zoneUrl, creds, { method, path: '/Tickets', body });
      expect(reply).toEqual({ status: 200, body: { itemId: 29683664 }, nextPage: null });
      const last = seen.at(-1)!;
      expect(last.method).toBe(method);
      expect(JSON.parse(last.body)).toEqual(body);
    }
    handler = (_req, res) => json(res, 200, { queryCount: 7 });
    const count = await client().send(zoneUrl, creds, {
      method: 'POST',
      path: '/Tickets/query/count',
      body: { filter: [] },
    });
    expect(count.body).toEqual({ queryCount: 7 });
  });

  it('returns an empty 2xx body as null and a non-JSON one as text', async () => {
    handler = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    expect(await client().send(zoneUrl, creds, { method: 'DELETE', path: '/ActionTypes/3' })).toEqual({
      status: 204,
      body: null,
      nextPage: null,
    });
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('plain');
    };
    expect((await client().send(zoneUrl, creds, { method: 'GET', path: '/Tickets/1' })).body).toBe('plain');
  });
});

describe('paging', () => {
  const page = (nextPageUrl: string | null) => ({
    items: [{ id: 1 }, { id: 2 }],
    pageDetails: { count: 2, requestCount: 2, prevPageUrl: null, nextPageUrl },
  });

  it('turns a GET nextPageUrl into the next call, keeping its query parameters', async () => {
    const next = `${origin}/ATServicesRest/V1.0/Tickets/query?search=%7B%22filter%22%3A%5B%5D%7D&paging=%7B%22pageSize%22%3A2%2C%22lastId%22%3A2%7D`;
    handler = (_req, res) => json(res, 200, page(next));
    const reply = await client().send(zoneUrl, creds, {
      method: 'GET',
      path: '/Tickets/query',
      query: { search: '{"filter":[]}' },
    });
    expect(reply.body).toEqual(page(next));
    expect(reply.nextPage).toEqual({
      method: 'GET',
      path: '/Tickets/query',
      query: { search: '{"filter":[]}', paging: '{"pageSize":2,"lastId":2}' },
    });
    handler = (_req, res) => json(res, 200, page(null));
    const last = await client().send(zoneUrl, creds, reply.nextPage!);
    expect(last.nextPage).toBeNull();
    expect(new URL(seen[1]!.url, origin).searchParams.get('paging')).toBe('{"pageSize":2,"lastId":2}');
  });

  it('re-POSTs the same body to a POST query nextPageUrl', async () => {
    const body = { MaxRecords: 2, filter: [{ op: 'gt', field: 'id', value: 0 }] };
    handler = (_req, res) => json(res, 200, page(`${zoneUrl}v1.0/Tickets/query/next?paging=abc`));
    const reply = await client().send(zoneUrl, creds, { method: 'POST', path: '/Tickets/query', body });
    expect(reply.nextPage).toEqual({
      method: 'POST',
      path: '/Tickets/query/next',
      query: { paging: 'abc' },
      body,
    });
    await client().send(zoneUrl, creds, reply.nextPage!);
    expect(seen[1]!.method).toBe('POST');
    expect(seen[1]!.url).toBe('/atservicesrest/v1.0/Tickets/query/next?paging=abc');
    expect(JSON.parse(seen[1]!.body)).toEqual(body);
  });

  it('refuses a nextPageUrl outside the zone and sends nothing there', async () => {
    const port = (server.address() as AddressInfo).port;
    const outside = [
      'https://evil.example/atservicesrest/v1.0/Tickets/query?paging=1',
      `http://localhost:${port}/atservicesrest/v1.0/Tickets/query`,
      `http://127.0.0.1:${port + 1}/atservicesrest/v1.0/Tickets/query`,
      `https://127.0.0.1:${port}/atservicesrest/v1.0/Tickets/query`,
      `${origin}/other/v1.0/Tickets/query`,
      `${origin}/atservicesrest/v1.0/../../evil/Tickets/query`,
      `${origin}/atservicesrest/v1.0`,
      `http://user:pw@127.0.0.1:${port}/atservicesrest/v1.0/Tickets/query`,
    ];
    for (const next of outside) {
      handler = (_req, res) => json(res, 200, page(next));
      const err = await failure(() =>
        client().send(zoneUrl, creds, { method: 'GET', path: '/Tickets/query' }),
      );
      expect(err.kind, next).toBe('client');
      expect(err.message, next).toContain('nextPageUrl points outside the zone');
    }
    expect(seen).toHaveLength(outside.length);
  });

  it('does not follow redirects with the credentials', async () => {
    handler = (req, res) => {
      if (req.url?.includes('/elsewhere')) return json(res, 200, { item: {} });
      res.writeHead(302, { Location: `${origin}/elsewhere` });
      res.end();
    };
    const err = await failure(() => client().send(zoneUrl, creds, { method: 'GET', path: '/Tickets/1' }));
    expect(err.kind).toBe('client');
    expect(err.status).toBe(302);
    expect(seen).toHaveLength(1);
  });

  it('refuses a path that climbs out of v1.0', async () => {
    const err = await failure(() => client().send(zoneUrl, creds, { method: 'GET', path: '/../../other' }));
    expect(err.kind).toBe('client');
    expect(seen).toHaveLength(0);
  });
});

describe('error classification', () => {
  const answer = (status: number, body?: unknown) => {
    handler = (_req, res) => {
      if (body === undefined) {
        res.writeHead(status);
        res.end();
      } else json(res, status, body);
    };
  };
  const get = () => failure(() => client().send(zoneUrl, creds, { method: 'GET', path: '/Tickets/9' }));

  it('429 over the hourly cap is throttled', async () => {
    answer(429, { errors: ['Request threshold of 10000 requests per 60 minutes exceeded'] });
    const err = await get();
    expect(err).toMatchObject({ kind: 'throttled', status: 429, retryable: false });
    expect(err.errors).toEqual(['Request threshold of 10000 requests per 60 minutes exceeded']);
    expect(err.message).toBe(
      'Autotask 429 GET /Tickets/9: Request threshold of 10000 requests per 60 minutes exceeded',
    );
    answer(429);
    expect((await get()).kind).toBe('throttled');
    answer(403, { errors: ['API threshold exceeded'] });
    expect((await get()).kind).toBe('throttled');
  });

  it('the thread limit (Itgenatr005) is thread-limit, with 429 or another status', async () => {
    const text = 'Thread Threshold Exceeded — Itgenatr005: the maximum of 3 threads has been exceeded';
    answer(429, { errors: [text] });
    expect(await get()).toMatchObject({ kind: 'thread-limit', status: 429, errors: [text] });
    answer(500, { errors: ['Thread threshold exceeded'] });
    expect((await get()).kind).toBe('thread-limit');
    answer(405, { errors: ['Error Itgenatr005'] });
    expect((await get()).kind).toBe('thread-limit');
  });

  it('200 with errors is a client error', async () => {
    answer(200, { errors: ['Field status has an invalid value', 'second'], item: null });
    const err = await get();
    expect(err).toMatchObject({
      kind: 'client',
      status: 200,
      errors: ['Field status has an invalid value', 'second'],
    });
    expect(err.body).toEqual({ errors: ['Field status has an invalid value', 'second'], item: null });
    expect(err.message).toBe('Autotask 200 GET /Tickets/9: Field status has an invalid value (+1 more)');
  });

  it('404 is a client error that keeps status, errors and body', async () => {
    answer(404, { errors: ['Ticket 9 not found'] });
    const err = await get();
    expect(err).toMatchObject({
      kind: 'client',
      status: 404,
      errors: ['Ticket 9 not found'],
      retryable: false,
    });
    expect(err.body).toEqual({ errors: ['Ticket 9 not found'] });
    expect(err.message).toBe('Autotask 404 GET /Tickets/9: Ticket 9 not found');
  });

  it('500 "IntegrationCode is invalid." is a client error, other 5xx are server errors', async () => {
    answer(500, { errors: ['IntegrationCode is invalid.'] });
    expect(await get()).toMatchObject({ kind: 'client', status: 500, retryable: false });
    answer(500, { errors: ['An unexpected error occurred'] });
    expect(await get()).toMatchObject({ kind: 'server', status: 500, retryable: true });
    handler = (_req, res) => {
      res.writeHead(503, { 'Content-Type': 'text/html' });
      res.end('<html><body>Service   Unavailable</body></html>');
    };
    const err = await get();
    expect(err).toMatchObject({ kind: 'server', status: 503, retryable: true, errors: [] });
    expect(err.message).toBe('Autotask 503 GET /Tickets/9: <html><body>Service Unavailable</body></html>');
  });

  it('a slow answer is a timeout', async () => {
    handler = (_req, res) => {
      setTimeout(() => json(res, 200, { item: {} }), 500).unref();
    };
    const started = Date.now();
    const err = await failure(() =>
      client().send(zoneUrl, creds, { method: 'GET', path: '/Tickets/9' }, { timeoutMs: 50 }),
    );
    expect(Date.now() - started).toBeLessThan(400);
    expect(err).toMatchObject({ kind: 'timeout', retryable: true, status: undefined });
    expect(err.message).toContain('50 ms');
  });

  it('the default timeout applies when none is given', async () => {
    handler = (_req, res) => {
      setTimeout(() => json(res, 200, { item: {} }), 500).unref();
    };
    const quick = new AutotaskHttpClient({ zoneDiscoveryUrl: origin, defaultTimeoutMs: 50 });
    expect(
      (await failure(() => quick.send(zoneUrl, creds, { method: 'GET', path: '/Tickets/9' }))).kind,
    ).toBe('timeout');
  });

  it('a reset connection is a network error', async () => {
    handler = (req) => req.socket.destroy();
    const err = await get();
    expect(err).toMatchObject({ kind: 'network', retryable: true, status: undefined });
    expect(err.message).toMatch(/^Autotask GET \/Tickets\/9: network error/);
  });
});

describe('the secret', () => {
  it('never appears in an error message, even when Autotask echoes it', async () => {
    handler = (_req, res) =>
      json(res, 401, { errors: [`User api@msp.example with secret ${SECRET} is not authorized`] });
    const err = await failure(() => client().send(zoneUrl, creds, { method: 'GET', path: '/Tickets/9' }));
    expect(err.kind).toBe('client');
    expect(err.message).toBe(
      'Autotask 401 GET /Tickets/9: User api@msp.example with secret *** is not authorized',
    );
    expect(err.errors.join()).not.toContain(SECRET);
  });

  it('never appears when it cannot be sent as a header', async () => {
    const bad = { ...creds, secret: `${SECRET}\r\nX-Injected: 1` };
    const err = await failure(() => client().send(zoneUrl, bad, { method: 'GET', path: '/Tickets/9' }));
    expect(err.kind).toBe('client');
    expect(err.message).not.toContain(bad.secret);
    expect(err.message).toContain('Secret header');
    expect(seen).toHaveLength(0);
  });
});
