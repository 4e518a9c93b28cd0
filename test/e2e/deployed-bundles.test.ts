import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import type { JobResult } from '#shared/jobs/result.ts';
import { type SynthesizedBundles, synthBundles } from '../support/synth-bundles.ts';

let synth: SynthesizedBundles;
let gov: LocalGovernor;

beforeAll(async () => {
  synth = synthBundles('cdk-e2e');
  const { Worker: worker, Sync: sync, Api: api } = synth.bundles;
  if (!worker || !sync || !api)
    throw new Error(`missing bundles in ${synth.outdir}: ${Object.keys(synth.bundles)}`);
  gov = await startLocalGovernor({
    simulator: { latencyScale: 0 },
    syncIntervalMs: 0,
    loadWorker: () => import(pathToFileURL(worker).href),
    loadSync: () => import(pathToFileURL(sync).href),
    loadApi: () => import(pathToFileURL(api).href),
  });
}, 120_000);

afterAll(async () => {
  await gov?.stop();
  synth?.cleanup();
});

describe('what we deploy is what we tested', () => {
  it('runs jobs end to end through the worker bundle that cdk synth wrote', async () => {
    await gov.sendJobs([
      { jobId: 'bundle-1', connectionId: gov.connectionId, request: { method: 'GET', path: '/Tickets/5' } },
      {
        jobId: 'bundle-2',
        connectionId: gov.connectionId,
        request: {
          method: 'POST',
          path: '/Tickets',
          body: {
            title: 'from the bundle',
            companyID: 0,
            status: 1,
            priority: 2,
            queueID: 1,
            dueDateTime: '2026-12-01T00:00:00Z',
          },
        },
      },
      '{"not": "a job"}',
    ]);
    const results = new Map<string, JobResult>();
    const deadline = Date.now() + 30_000;
    while (results.size < 2 && Date.now() < deadline) {
      for (const m of await gov.drain(gov.resources.queueUrls.results, 1)) {
        const r = JSON.parse(m.Body ?? '{}') as JobResult;
        results.set(r.jobId, r);
      }
    }
    expect(results.get('bundle-1')).toMatchObject({
      status: 'succeeded',
      httpStatus: 200,
      response: { item: { id: 5 } },
    });
    expect(results.get('bundle-2')?.status).toBe('succeeded');
    expect((results.get('bundle-2')?.response as { itemId?: number } | undefined)?.itemId).toBeGreaterThan(0);
    const dead = await gov.drain(gov.resources.queueUrls.deadLetter, 2);
    expect(dead.map((m) => m.MessageAttributes?.['gov-reason']?.StringValue)).toEqual(['invalid-job']);
    expect(gov.simulator.calls({ source: 'ours' })).toHaveLength(2);
  });

  it('runs the sync and the operators API from their bundles: ThresholdInformation, status, sleep, e-mail, wake', async () => {
    expect(await gov.syncNow()).toEqual({ synced: 1, connections: 1 });
    expect(
      gov.simulator.calls({ source: 'ours' }).filter((c) => /ThresholdInformation/.test(c.path)),
    ).toHaveLength(1);
    const token = await gov.createToken('bundle-test');
    const api = async (method: string, path: string, auth = true) => {
      const res = await fetch(`${gov.apiUrl}${path}`, {
        method,
        headers: auth ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const status = await api('GET', `/connections/${gov.connectionId}`);
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({ state: 'awake', usage: { limit: 10_000 } });
    expect((await api('POST', `/connections/${gov.connectionId}/wake`, false)).status).toBe(401);
    expect((await api('POST', `/connections/${gov.connectionId}/sleep`)).json).toMatchObject({
      state: 'asleep',
    });
    const mails = (await gov.emulators.sesStore()) as Array<{ subject: string; body: { text?: string } }>;
    expect(mails.map((m) => m.subject)).toEqual([`[autotask-governor] ${gov.connectionId}: asleep`]);
    // a sleep by hand is woken by hand: its e-mail carries no wake link
    expect(mails[0]?.body.text).not.toContain('/wake-links/');
    expect(mails[0]?.body.text).toContain('put to sleep by hand');
    expect((await api('POST', `/connections/${gov.connectionId}/wake`)).json).toMatchObject({
      state: 'awake',
    });
  });

  it('serves the console from the API bundle: sign-in, a page with its script and style, the status link', async () => {
    const token = await gov.createToken('bundle-console', 'viewer');
    const signIn = await fetch(`${gov.apiUrl}/console/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gov.apiUrl },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(signIn.status).toBe(303);
    const cookie = (signIn.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    const page = await fetch(`${gov.apiUrl}/console/connections/${gov.connectionId}`, {
      headers: { cookie },
    });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Wake Up Autotask Connection');
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const res = await fetch(`${gov.apiUrl}${asset.replaceAll('&amp;', '&')}`);
      expect(res.status, asset).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
    // the e-mail's status link opens the console, not the JSON API
    const mails = (await gov.emulators.sesStore()) as Array<{ body: { text?: string } }>;
    expect(mails[0]?.body.text).toContain(`${gov.apiUrl}/console/connections/${gov.connectionId}`);
  });
});
