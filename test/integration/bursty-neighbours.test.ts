/**
 * Issue 22 on the local stack: other integrations use 20 % of the cap in bursts, one neighbour fills
 * the window to the cap for a moment as a backlog of 3x the normal ceiling in mixed priorities lands. Every figure comes from the simulator's call log (what Autotask counted), not the governor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import type { Transition } from '#shared/connections/state.ts';
import type { Priority } from '#shared/jobs/schema.ts';
import { collector } from '../support/governor-helpers.ts';

// 1,200 a window: the sync may read every 1.7 s (1 % of the cap), a twelfth of the window
const LIMIT = 1200;
const WINDOW_SECONDS = 20;
const W = WINDOW_SECONDS * 1000;
const NORMAL_CEILING = LIMIT * 0.8;
const OTHERS_PER_WINDOW = LIMIT * 0.2;
const BACKLOG = 3 * NORMAL_CEILING;
let gov: LocalGovernor;

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: {
      limit: LIMIT,
      windowSeconds: WINDOW_SECONDS,
      latencyScale: 0.01,
      baseLatencyMs: 5,
      otherIntegrations: { requestsPerWindow: OTHERS_PER_WINDOW, bursty: true, burstEverySeconds: 4 },
    },
    connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS },
    worker: { maxConcurrency: 5 },
  });
});

afterAll(async () => {
  await gov?.stop();
});

const transitions = async (): Promise<Transition[]> => {
  const { dynamo } = await import('#shared/aws/clients.ts');
  const { DynamoStateStore } = await import('#shared/connections/state-store.ts');
  return (await new DynamoStateStore(dynamo, gov.resources.tableName).get(gov.connectionId)).state
    .transitions;
};

describe('bursty neighbours, one spike to the cap, a backlog of 3x the normal ceiling', () => {
  it('decides on facts, drains the backlog and gets its room back once the spike leaves the window', async () => {
    // the neighbours' load reaches its steady state (one window) while the sync watches it
    await new Promise((resolve) => setTimeout(resolve, W));
    const start = Date.now();
    const mix: Priority[] = [
      'normal',
      'normal',
      'bulk',
      'normal',
      'critical',
      'normal',
      'normal',
      'bulk',
      'normal',
      'normal',
    ];
    const jobs = Array.from({ length: BACKLOG }, (_, i) => ({
      jobId: `b-${i}`,
      connectionId: gov.connectionId,
      priority: mix[i % mix.length] as Priority,
      request: {
        method: 'GET' as const,
        path: `/${['Tickets', 'Companies', 'Contacts', 'Projects'][i % 4]}/${(i % 10) + 1}`,
      },
    }));
    // a neighbour fills the window to the cap for a moment, as the backlog lands
    const spikeAt = Date.now();
    gov.simulator.addOtherCalls(LIMIT - gov.simulator.windowTotal());
    await gov.sendJobs(jobs);
    const c = collector(gov);
    await c.until(() => c.results.size + c.dead.size >= BACKLOG, 12 * W);
    const end = Date.now();

    const ours = gov.simulator.calls({ source: 'ours' }).filter((call) => call.at >= start);
    const counted = (from: number, to: number, source: 'ours' | 'other') =>
      gov.simulator
        .calls({ source })
        .filter((call) => call.countedInWindow && call.at >= from && call.at < to).length;
    const perWindow: string[] = [];
    for (let t = start; t < end; t += W)
      perWindow.push(
        `${((t - spikeAt) / 1000).toFixed(0)}s: ours ${counted(t, t + W, 'ours')} others ${counted(t, t + W, 'other')}`,
      );
    console.log(
      `bursty neighbours: drained in ${((end - start) / 1000).toFixed(1)} s; per window from the spike: ${perWindow.join(' | ')}`,
    );

    // 1. facts: no transition cites a total more than 5 % of the cap above what Autotask counted then
    // (the total a transition cites: its recorded reading, else the "N of LIMIT" in its reason)
    const seen = await transitions();
    const cited = seen
      .filter((t) => t.at >= start)
      .map((t) => {
        const fromReason = /\((\d+) of \d+\)|: (\d+) of \d+ requests/.exec(t.reason);
        const total = t.reading?.total ?? Number(fromReason?.[1] ?? fromReason?.[2] ?? Number.NaN);
        return { t, total, at: t.reading?.at ?? t.at };
      })
      .filter((c) => !Number.isNaN(c.total));
    for (const { t, total, at } of cited)
      expect(total - gov.simulator.windowTotal(at), `${t.to}: ${t.reason}`).toBeLessThanOrEqual(LIMIT * 0.05);
    console.log(`bursty neighbours: ${cited.length} of ${seen.length} transitions cite a total`);
    // every job ended, none waiting; none failed or dead-lettered
    expect(c.results.size).toBe(BACKLOG);
    expect([...c.results.values()].filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect(c.dead.size).toBe(0);
    // 0 x 429 before the spike
    expect(ours.filter((call) => call.at < spikeAt && call.outcome === 'throttled')).toEqual([]);

    // 2. within two windows after the spike left the window, our calls recover to >= 90 % of the room
    const from = spikeAt + 2 * W;
    const others = counted(from, from + W, 'other');
    const ourCalls = counted(from, from + W, 'ours');
    console.log(
      `bursty neighbours: second window after the spike left: ours ${ourCalls}, others ${others}, room ${NORMAL_CEILING - others}`,
    );
    expect(end).toBeGreaterThan(from + W); // the backlog was still there to measure it
    expect(ourCalls).toBeGreaterThanOrEqual(0.9 * (NORMAL_CEILING - others));
  }, 300_000);
});
