/**
 * Issue 21's checks that need no local stack: where the Autotask client may send the API user's
 * secret, and the settings an operator may store (limit, thresholds, one-line text, zone URL).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AutotaskHttpClient } from '#shared/autotask/client.ts';
import { connectionSettingsSchema } from '#shared/connections/model.ts';
import { AutotaskError } from '#shared/errors.ts';

const creds = { username: 'api@msp.example', secret: 'the-secret', integrationCode: 'CODE' };

/** A loopback listener standing in for a host an attacker controls; it records every request. */
let listener: Server;
let listenerUrl: string;
let heard: string[] = [];
/** What the listener answers to a zone look-up (it poses as zone discovery in one test). */
let zoneAnswer: unknown = {};

beforeAll(async () => {
  listener = createServer((req, res) => {
    heard.push(`${req.method} ${req.url} secret=${req.headers.secret ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url?.includes('zoneInformation') ? zoneAnswer : { item: {} }));
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));
beforeEach(() => {
  heard = [];
});

const refusal = async (fn: () => Promise<unknown>): Promise<AutotaskError> => {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AutotaskError);
  return err as AutotaskError;
};

describe('the Autotask client sends credentials to Autotask zones only', () => {
  const autotask = new AutotaskHttpClient({
    zoneDiscoveryUrl: 'https://webservices.autotask.net/atservicesrest',
  });

  it('refuses any zone that is not https://webservices<N>.autotask.net/atservicesrest/, sending nothing', async () => {
    for (const zone of [
      `${listenerUrl}/atservicesrest/`,
      'http://webservices5.autotask.net/atservicesrest/',
      'https://webservices5.autotask.net.evil.example/atservicesrest/',
      'https://evil.example/atservicesrest/',
      'https://webservices5.autotask.net@evil.example/atservicesrest/',
      'javascript:alert(1)//',
      'file:///etc/passwd',
    ]) {
      const err = await refusal(() => autotask.send(zone, creds, { method: 'GET', path: '/Tickets/1' }));
      expect(err.kind, zone).toBe('client');
      expect(err.message, zone).toMatch(/not an Autotask zone/);
    }
    expect(heard).toEqual([]);
  });

  it('with a zone discovery configured elsewhere (the local stack), allows that origin and no other', async () => {
    const local = new AutotaskHttpClient({ zoneDiscoveryUrl: `${listenerUrl}/atservicesrest` });
    await local.send(`${listenerUrl}/atservicesrest/`, creds, { method: 'GET', path: '/Tickets/1' });
    expect(heard).toHaveLength(1);
    const otherPort = listenerUrl.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`);
    await refusal(() =>
      local.send(`${otherPort}/atservicesrest/`, creds, { method: 'GET', path: '/Tickets/1' }),
    );
    await refusal(() =>
      local.send('http://localhost:1/atservicesrest/', creds, { method: 'GET', path: '/Tickets/1' }),
    );
    expect(heard).toHaveLength(1);
  });

  it('refuses a zone discovery answer that is not an Autotask zone', async () => {
    // the listener poses as zone discovery (a deployment configured to use it) and names a third host
    const discovery = new AutotaskHttpClient({ zoneDiscoveryUrl: `${listenerUrl}/atservicesrest` });
    zoneAnswer = { zoneName: 'x', url: 'https://attacker.example/atservicesrest/' };
    const err = await refusal(() => discovery.discoverZone('api@msp.example'));
    expect(err.kind).toBe('client');
    expect(err.message).toMatch(/not an Autotask zone/);
    zoneAnswer = { zoneName: 'x', url: 'https://webservices14.autotask.net/ATServicesRest/' };
    expect(await discovery.discoverZone('api@msp.example')).toBe(
      'https://webservices14.autotask.net/ATServicesRest/',
    );
  });
});

describe('connection settings an operator may store', () => {
  const base = {
    apiUser: 'api@msp.example',
    integrationCode: 'CODE',
    secretRef: 'autotask-governor/prod/connections/x',
  };
  const refused = (settings: Record<string, unknown>) =>
    connectionSettingsSchema.safeParse({ ...base, ...settings }).success === false;

  it('a zoneUrl must be an Autotask zone: no loopback, plain http, other hosts, javascript: or file:', () => {
    for (const zoneUrl of [
      'http://127.0.0.1:8080/atservicesrest/',
      'http://webservices5.autotask.net/atservicesrest/',
      'https://evil.example/atservicesrest/',
      'javascript:alert(1)',
      'file:///etc/passwd',
    ])
      expect(refused({ zoneUrl }), zoneUrl).toBe(true);
    expect(refused({ zoneUrl: 'https://webservices5.autotask.net/atservicesrest/' })).toBe(false);
  });

  it("bounds the limit at Autotask's cap and keeps warn <= sleep", () => {
    expect(refused({ limit: 1_000_000, ceilings: { bulk: 1, normal: 1, critical: 1 } })).toBe(true);
    expect(refused({ limit: 10_001 })).toBe(true);
    expect(refused({ limit: 10_000 })).toBe(false);
    expect(refused({ thresholds: { warn: 0.95, sleep: 0.9, resume: 0.7 } })).toBe(true);
    expect(refused({ thresholds: { warn: 0.9, sleep: 0.9, resume: 0.7 } })).toBe(false);
  });

  it('refuses control characters (CR/LF) in apiUser, integrationCode and secretRef', () => {
    expect(refused({ apiUser: 'api@msp.example\r\nX-Injected: 1' })).toBe(true);
    expect(refused({ integrationCode: 'CODE\nmore' })).toBe(true);
    expect(refused({ integrationCode: 'CODE\u0000' })).toBe(true);
    expect(refused({ secretRef: 'autotask-governor/prod/connections/x\n' })).toBe(true);
  });
});
