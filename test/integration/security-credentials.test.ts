/**
 * Issue 21, the high finding, end to end on the local stack: no token, whatever its role, can make
 * the worker or the sync send a request (let alone the Autotask secret) anywhere but the
 * connection's Autotask zone. A loopback listener stands for the attacker's host.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SECRET_PREFIX, LOCAL_USER, type LocalGovernor } from '#local/governor.ts';
import { putSecret } from '#local/secrets.ts';
import type { Role } from '#shared/auth/roles.ts';
import { connectionKey, DynamoConnectionStore } from '#shared/connections/store.ts';
import { addConnection, collector } from '../support/governor-helpers.ts';
import { call, quietConnection, startOperatorGovernor } from '../support/operators.ts';

let gov: LocalGovernor;
const tokens = {} as Record<Role, string>;
let listener: Server;
const heard: string[] = [];
let listenerZone: string;

beforeAll(async () => {
  ({ gov, token: tokens.admin } = await startOperatorGovernor('sec-admin', {
    ...quietConnection(1000, 60),
    syncIntervalMs: 0,
  }));
  for (const role of ['viewer', 'operator', 'jobs'] as const)
    tokens[role] = await gov.createToken(`sec-${role}`, role);
  listener = createServer((req, res) => {
    heard.push(
      `${req.method} ${req.url} user=${req.headers.username ?? ''} secret=${req.headers.secret ?? ''}`,
    );
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      '{"currentTimeframeRequestCount":0,"externalRequestThreshold":10000,"requestThresholdTimeframe":60}',
    );
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerZone = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/atservicesrest/`;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => listener?.close(() => resolve()));
  await gov?.stop();
});

const mainSecret = () => `${LOCAL_SECRET_PREFIX}${gov.connectionId}`;
const settings = (extra: Record<string, unknown> = {}) => ({
  apiUser: LOCAL_USER.username,
  integrationCode: LOCAL_USER.integrationCode,
  ...extra,
});

describe('the operators API stores no foreign zone and no foreign secret', () => {
  it('refuses, for every role, a connection aimed at another host or at another connection’s secret', async () => {
    const attempts: Array<[string, Record<string, unknown>]> = [
      ['evil', settings({ secretRef: mainSecret(), zoneUrl: listenerZone })],
      ['evil', settings({ secretRef: mainSecret() })],
      ['evil', settings({ zoneUrl: listenerZone })],
      ['evil', settings({ zoneUrl: 'javascript:alert(1)' })],
      ['evil', settings({ zoneUrl: 'file:///etc/passwd' })],
      ['evil', settings({ zoneUrl: 'https://evil.example/atservicesrest/' })],
      // the same on the existing connection would divert all its traffic
      [gov.connectionId, settings({ zoneUrl: listenerZone })],
      [gov.connectionId, settings({ secretRef: `${LOCAL_SECRET_PREFIX}someone-else` })],
    ];
    for (const [id, body] of attempts) {
      for (const role of ['viewer', 'operator', 'jobs', 'admin'] as const) {
        const answer = await call(gov, 'PUT', `/connections/${id}`, { token: tokens[role], body });
        const what = `${role} PUT ${id} ${JSON.stringify(body)}`;
        if (role === 'admin') {
          expect(answer.status, what).toBe(400);
          expect(answer.json.error.code, what).toBe('invalid-settings');
        } else {
          expect(answer.status, what).toBe(403);
          expect(answer.json.error.code, what).toBe('insufficient-role');
        }
      }
    }
    expect((await call(gov, 'GET', '/connections/evil', { token: tokens.admin })).status).toBe(404);
    const main = (await call(gov, 'GET', `/connections/${gov.connectionId}`, { token: tokens.admin })).json;
    expect(JSON.stringify(main)).not.toContain(listenerZone);
  });

  it('a connection gets its own secret when secretRef is left out, and an Autotask zone is accepted', async () => {
    await putSecret(`${LOCAL_SECRET_PREFIX}branch`, { secret: LOCAL_USER.secret });
    const created = await call(gov, 'PUT', '/connections/branch', {
      token: tokens.admin,
      body: settings({ zoneUrl: 'https://webservices5.autotask.net/atservicesrest/', enabled: false }),
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      secretRef: `${LOCAL_SECRET_PREFIX}branch`,
      zoneUrl: 'https://webservices5.autotask.net/atservicesrest/',
    });
  });
});

describe('what is stored is checked again when read: the worker and the sync send nothing', () => {
  it('a planted zone or a borrowed secret dead-letters the job with nothing sent, and the sync reads nothing', async () => {
    const { dynamo } = await import('#shared/aws/clients.ts');
    const store = new DynamoConnectionStore(dynamo, gov.resources.tableName);
    // Rows as an older version (or a hand edit) could have left them, bypassing the API's checks.
    await addConnection(gov, 'planted-zone');
    await store.cacheZone('planted-zone', listenerZone);
    await addConnection(gov, 'borrower');
    const borrower = await store.get('borrower');
    await dynamo.send(
      new UpdateItemCommand({
        TableName: gov.resources.tableName,
        Key: connectionKey('borrower'),
        UpdateExpression: 'SET doc = :doc',
        ExpressionAttributeValues: {
          ':doc': { S: JSON.stringify({ ...borrower, secretRef: mainSecret() }) },
        },
      }),
    );
    // and the main connection itself, diverted
    const main = await store.get(gov.connectionId);
    await store.cacheZone(gov.connectionId, listenerZone);

    const sentBefore = gov.simulator.calls().length;
    const jobs = [
      { jobId: 'to-planted', connectionId: 'planted-zone', request: { method: 'GET', path: '/Tickets/1' } },
      { jobId: 'to-borrower', connectionId: 'borrower', request: { method: 'GET', path: '/Tickets/1' } },
      {
        jobId: 'to-main',
        connectionId: gov.connectionId,
        request: { method: 'POST', path: '/Tickets', body: { title: 'x' } },
      },
    ] as const;
    await gov.sendJobs([...jobs]);
    const seen = collector(gov);
    await seen.until(() => seen.dead.size + seen.results.size >= jobs.length, 30_000);
    for (const job of jobs) {
      expect(seen.dead.get(job.jobId)?.reason, job.jobId).toBe('configuration-error');
      expect(seen.results.has(job.jobId), job.jobId).toBe(false);
    }
    expect(seen.dead.get('to-planted')?.error).toMatch(/not an Autotask zone/);
    expect(seen.dead.get('to-borrower')?.error).toMatch(/own secret/);

    // the sync, every minute with no job at all: it reads nothing for these connections either
    await gov.syncNow();
    await gov.syncNow();
    expect(heard).toEqual([]);
    // the borrowed secret was never used against Autotask either
    expect(
      gov.simulator
        .calls()
        .slice(sentBefore)
        .filter((c) => c.path !== '/ThresholdInformation'),
    ).toEqual([]);

    // repaired by an admin through the API (no zoneUrl: discovery finds it again), traffic flows again
    const repaired = await call(gov, 'PUT', `/connections/${gov.connectionId}`, {
      token: tokens.admin,
      body: settings({ limit: main?.limit, windowSeconds: main?.windowSeconds, zoneUrl: undefined }),
    });
    expect(repaired.status).toBe(200);
    // a stored zone that is no Autotask zone is dropped, not kept: discovery finds the real one again
    expect(repaired.json.zoneUrl).toBeUndefined();
  }, 60_000);
});
