import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGovernor } from '#local/governor.ts';
import { type ApiAnswer, call, mails, quietConnection, startOperatorGovernor } from '../support/operators.ts';

// Issue 4, acceptance 7: 200 malformed requests -> 4xx JSON errors with a message, never a 5xx, and
// no state changed (settings, connection state, queued jobs, e-mails).
let gov: LocalGovernor;
let token: string;

beforeAll(async () => {
  // nothing but these requests may change anything: no sync
  ({ gov, token } = await startOperatorGovernor('fuzz', { ...quietConnection(6000, 60), syncIntervalMs: 0 }));
});

afterAll(async () => {
  await gov?.stop();
});

type Case = {
  method: string;
  path: string;
  raw?: string;
  body?: unknown;
  auth?: string | null;
  type?: string;
};

const cases = (id: string): Case[] => {
  const valid = {
    apiUser: 'api@msp.example',
    integrationCode: 'CODE',
    secretRef: `autotask-governor/local/connections/${id}`,
  };
  const job = { jobId: 'j1', connectionId: id, request: { method: 'GET', path: '/Tickets/1' } };
  return [
    // bad JSON
    ...['{', 'nul', '[1,', '{"a":}', '{"reason": "x"', '\u0000'].flatMap((raw) => [
      { method: 'PUT', path: `/connections/${id}`, raw },
      { method: 'POST', path: `/connections/${id}/wake`, raw },
      { method: 'POST', path: `/connections/${id}/sleep`, raw },
      { method: 'POST', path: '/jobs', raw },
    ]),
    // wrong types and invalid settings
    ...[
      { ...valid, apiUser: 5 },
      { ...valid, limit: 'many' },
      { ...valid, limit: -1 },
      { ...valid, windowSeconds: 1.5 },
      { ...valid, ceilings: { bulk: 0.9, normal: 0.5, critical: 0.95 } },
      { ...valid, ceilings: { bulk: 0, normal: 0.5, critical: 0.95 } },
      { ...valid, ceilings: { critical: 1.5 } },
      { ...valid, thresholds: { warn: 0.5, sleep: 0.6, resume: 0.7 } },
      { ...valid, alertRecipients: ['not-an-email'] },
      { ...valid, alertRecipients: 'ops@msp.example' },
      { ...valid, enabled: 'yes' },
      { ...valid, secret: 'plain-text-secret' },
      { ...valid, secretRef: 'autotask-governor/local/connections/does-not-exist' },
      { ...valid, zoneUrl: 'not a url' },
      { apiUser: 'api@msp.example' },
      [],
      'text',
      42,
      null,
    ].flatMap((body) => [
      { method: 'PUT', path: `/connections/${id}`, body },
      { method: 'PUT', path: '/connections/new-one', body },
    ]),
    // unknown and invalid ids
    ...['nope', 'ghost', 'x.y'].flatMap((other) => [
      { method: 'GET', path: `/connections/${other}` },
      { method: 'GET', path: `/connections/${other}/usage` },
      { method: 'POST', path: `/connections/${other}/wake` },
      { method: 'POST', path: `/connections/${other}/sleep` },
    ]),
    ...['bad%20id', '%E0%A4%A', 'a'.repeat(65), 'semi%3Bcolon'].flatMap((bad) => [
      { method: 'GET', path: `/connections/${bad}` },
      { method: 'PUT', path: `/connections/${bad}`, body: valid },
      { method: 'POST', path: `/connections/${bad}/wake` },
    ]),
    // oversized bodies (the function's limit, and the gateway's)
    { method: 'PUT', path: `/connections/${id}`, body: { ...valid, apiUser: 'x'.repeat(20_000) } },
    { method: 'POST', path: `/connections/${id}/wake`, body: { reason: 'r'.repeat(20_000) } },
    { method: 'POST', path: '/jobs', raw: JSON.stringify({ pad: 'p'.repeat(1_100_000) }) },
    {
      method: 'POST',
      path: '/jobs',
      body: Array.from({ length: 101 }, (_, i) => ({ ...job, jobId: `j${i}` })),
    },
    {
      method: 'POST',
      path: '/jobs',
      body: { ...job, request: { ...job.request, body: { big: 'b'.repeat(300_000) } } },
    },
    // bad methods and unknown paths
    ...[
      ['DELETE', `/connections/${id}`],
      ['PATCH', `/connections/${id}`],
      ['POST', '/connections'],
      ['DELETE', '/connections'],
      ['GET', '/jobs'],
      ['PUT', '/jobs'],
      ['GET', `/connections/${id}/wake`],
      ['PUT', `/connections/${id}/sleep`],
      ['POST', `/connections/${id}/usage`],
      ['DELETE', '/wake-links/abc'],
      ['GET', '/'],
      ['GET', '/nope'],
      ['GET', `/connections/${id}/a/b`],
      ['POST', '/jobs/extra'],
    ].map(([method, path]) => ({ method: method as string, path: path as string })),
    // invalid jobs
    ...[
      {},
      [],
      { jobs: 'x' },
      { jobs: [] },
      [{ jobId: 'a' }],
      { ...job, connectionId: 'nope' },
      { ...job, jobId: 'bad id!' },
      { ...job, priority: 'urgent' },
      { ...job, request: { method: 'GET', path: '/NoSuchThing/../x' } },
      { ...job, request: { method: 'GET', path: '/Tickets/1', body: {} } },
      { ...job, request: { method: 'TRACE', path: '/Tickets/1' } },
      { ...job, maxPages: 0 },
      { ...job, expiresAt: 'tomorrow' },
      { ...job, extra: true },
      [1, 2, 3],
      'job',
    ].map((body) => ({ method: 'POST', path: '/jobs', body })),
    // auth
    ...[null, '', 'Basic abc', 'Bearer', 'Bearer agt_wrong_token', 'Bearer x y'].flatMap((auth) => [
      { method: 'GET', path: '/connections', auth },
      { method: 'POST', path: `/connections/${id}/wake`, auth },
      { method: 'PUT', path: `/connections/${id}`, body: valid, auth },
    ]),
    // bad query strings and bodies
    ...[
      'format=xml',
      'from=yesterday',
      'to=soon',
      'from=2026-11-20&to=2026-11-10',
      'from=2020-01-01',
      'x=1',
    ].map((q) => ({ method: 'GET', path: `/connections/${id}/usage?${q}` })),
    ...[{ reason: 5 }, { other: 1 }, [1], 'string', { reason: 'r'.repeat(501) }].flatMap((body) => [
      { method: 'POST', path: `/connections/${id}/wake`, body },
      { method: 'POST', path: `/connections/${id}/sleep`, body },
    ]),
    // not JSON at all
    ...['PUT', 'POST'].map((method) => ({
      method,
      path: method === 'PUT' ? `/connections/${id}` : '/jobs',
      raw: 'apiUser=x',
      type: 'text/plain',
    })),
    // wake links that are not
    ...['x', 'a.b', 'eyJjIjoieCJ9.AAAA', '%00'].flatMap((t) => [
      { method: 'GET', path: `/wake-links/${t}` },
      { method: 'POST', path: `/wake-links/${t}` },
    ]),
  ];
};

const snapshot = async () => {
  const list = await call(gov, 'GET', '/connections', { token });
  const status = await call(gov, 'GET', `/connections/${gov.connectionId}`, { token });
  const { state, reason, transitions, jobsWaiting } = status.json;
  return {
    connections: list.json,
    state,
    reason,
    transitions,
    jobsWaiting,
    mails: (await mails(gov)).length,
  };
};

describe('malformed requests', () => {
  it('200 of them: each a 4xx JSON error with a message, never a 5xx, and nothing changed', async () => {
    const before = await snapshot();
    const all = cases(gov.connectionId);
    const requests = Array.from({ length: 200 }, (_, i) => all[i % all.length] as Case);
    expect(all.length).toBeGreaterThanOrEqual(150);
    const failures: string[] = [];
    for (const c of requests) {
      const headers: Record<string, string> = {};
      if (c.auth !== null && c.auth !== undefined) headers.authorization = c.auth;
      if (c.type) headers['content-type'] = c.type;
      const answer: ApiAnswer = await call(gov, c.method, c.path, {
        ...(c.auth === undefined ? { token } : {}),
        ...(c.body !== undefined ? { body: c.body } : {}),
        ...(c.raw !== undefined ? { raw: c.raw } : {}),
        headers,
      });
      const message = answer.json?.error?.message ?? answer.json?.message;
      const isHtml = /text\/html/.test(answer.headers.get('content-type') ?? '');
      const ok =
        answer.status >= 400 &&
        answer.status < 500 &&
        (isHtml ? c.path.startsWith('/wake-links/') : typeof message === 'string' && message.length > 0);
      if (!ok)
        failures.push(`${c.method} ${c.path.slice(0, 60)} -> ${answer.status} ${answer.text.slice(0, 120)}`);
    }
    expect(failures).toEqual([]);
    expect(await snapshot()).toEqual(before);
  }, 120_000);
});
