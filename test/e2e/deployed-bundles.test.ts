import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import type { JobResult } from '#shared/jobs/result.ts';
import { type SynthesizedBundles, synthBundles } from '../support/synth-bundles.ts';

let synth: SynthesizedBundles;
let gov: LocalGovernor;

beforeAll(async () => {
  synth = synthBundles('cdk-e2e');
  const worker = synth.bundles.Worker;
  if (!worker) throw new Error(`no worker bundle in ${synth.outdir}`);
  gov = await startLocalGovernor({
    simulator: { latencyScale: 0 },
    syncIntervalMs: 0,
    loadWorker: () => import(pathToFileURL(worker).href),
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
});
