import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import { collector } from '../support/governor-helpers.ts';

const LIMIT = 3000;
const WINDOW_SECONDS = 20;
const NORMAL_CEILING = LIMIT * 0.8;
let gov: LocalGovernor;

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: {
      limit: LIMIT,
      windowSeconds: WINDOW_SECONDS,
      latencyScale: 0.01,
      baseLatencyMs: 5,
      otherIntegrations: { requestsPerWindow: LIMIT * 0.3, bursty: true, burstEverySeconds: 2 },
    },
    connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS },
    worker: { batchSize: 10, maxConcurrency: 16 },
  });
});

afterAll(async () => {
  await gov?.stop();
});

describe('other integrations using 30 % of the cap in bursts', () => {
  it('runs a backlog of normal jobs with no 429 and (almost) never calls while the database is over the normal ceiling', async () => {
    // let the neighbours' load reach its steady state (one window) while the sync watches it
    await new Promise((resolve) => setTimeout(resolve, WINDOW_SECONDS * 1000));
    const start = Date.now();
    const jobs = Array.from({ length: 2000 }, (_, i) => ({
      jobId: `load-${i}`,
      connectionId: gov.connectionId,
      request: {
        method: 'GET' as const,
        path: `/${['Tickets', 'Companies', 'Contacts', 'Projects'][i % 4]}/${(i % 10) + 1}`,
      },
    }));
    await gov.sendJobs(jobs);
    const c = collector(gov);
    await c.until(() => Date.now() - start > 30_000, 40_000);

    const ours = gov.simulator.calls({ source: 'ours' }).filter((call) => call.at >= start);
    expect(ours.length).toBeGreaterThan(1000); // the backlog kept us busy
    expect(ours.filter((call) => call.outcome === 'throttled')).toHaveLength(0);
    const overCeiling = ours.filter((call) => call.windowTotalAtReceipt > NORMAL_CEILING).length;
    expect(overCeiling / ours.length).toBeLessThan(0.01);
    // and the neighbours really were there: about 30 % of the cap in every window
    const others = gov.simulator
      .calls({ source: 'other' })
      .filter((call) => call.at >= start && call.countedInWindow);
    expect(others.length).toBeGreaterThan(LIMIT * 0.3 * 1.2);
  }, 120_000);
});
