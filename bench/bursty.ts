/**
 * The "bursty neighbours" case of `npm run bench` (issue 22): other integrations use 20 % of the cap
 * in bursts, one neighbour fills the window to the cap half a window after a backlog of 3x the
 * normal ceiling lands (one job in ten critical). Every figure comes from the simulator's call log:
 * - drain ratio: our drain time ÷ the shortest possible one given the others' real calls (a greedy
 *   ideal that spends, at every moment, what the normal ceiling leaves in the rolling window);
 * - overshoot: our busiest rolling window ÷ the normal ceiling (as in the overshoot case);
 * - the busiest database total (ours + others) ÷ the cap, outside the spike's window, and the
 *   busiest (ours + others) ÷ the normal ceiling (critical jobs may go to 95 %, and others' bursts
 *   reach the budget only at the next read);
 * - 429s before the spike; critical jobs' p90 time from their arrival in the jobs queue to their result.
 */
import type { LocalGovernor } from '#local/governor.ts';
import type { JobResult } from '#shared/jobs/result.ts';
import type { JobInput } from '#shared/jobs/schema.ts';
import { readJobs, sleep } from './workload.ts';

export interface BurstyResult {
  jobs: number;
  succeeded: number;
  calls: number;
  othersPerWindow: number;
  drainSeconds: number;
  minimumDrainSeconds: number;
  drainRatio: number;
  overshoot: number;
  busiestTotalOverCap: number;
  busiestTotalOverNormalCeiling: number;
  refused429BeforeSpike: number;
  refused429AfterSpike: number;
  criticalJobs: number;
  criticalP90Seconds: number;
  criticalBoundSeconds: number;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The shortest drain: at each step, spend what the ceiling leaves in the window (others as logged). */
const idealDrainMs = (
  calls: number,
  others: number[],
  from: number,
  ceiling: number,
  windowMs: number,
): number => {
  const ours: Array<[number, number]> = [];
  let left = calls;
  for (let t = from; left > 0; t += 50) {
    const othersIn = others.filter((at) => at > t - windowMs && at <= t).length;
    const oursIn = ours.filter(([at]) => at > t - windowMs).reduce((sum, [, n]) => sum + n, 0);
    const n = Math.min(left, Math.max(0, ceiling - othersIn - oursIn));
    if (n > 0) ours.push([t, n]);
    left -= n;
    if (left === 0) return t - from;
  }
  return 0;
};

export const runBursty = async (
  gov: LocalGovernor,
  connectionId: string,
  opts: { limit: number; windowSeconds: number; ceiling: number; timeoutMs: number },
): Promise<BurstyResult> => {
  const { limit, windowSeconds, ceiling } = opts;
  const windowMs = windowSeconds * 1000;
  gov.simulator.setKnobs({
    otherIntegrations: {
      requestsPerWindow: Math.round(limit * 0.2),
      bursty: true,
      burstEverySeconds: windowSeconds / 6,
    },
  });
  // the neighbours reach their steady state while the sync watches them (and what earlier cases
  // left in the window ages out)
  await sleep(windowMs);
  const jobs: JobInput[] = readJobs(`bursty-${Date.now()}`, connectionId, 3 * ceiling).map((job, i) =>
    i % 10 === 4 ? { ...job, priority: 'critical' } : job,
  );
  const critical = new Set(jobs.filter((j) => j.priority === 'critical').map((j) => j.jobId));
  const startedAt = Date.now();
  // as POST /jobs does (and integrations are told to): critical jobs in their own lane
  for (let i = 0; i < jobs.length; i += 200) await gov.sendJobs(jobs.slice(i, i + 200), { critical: 'lane' });
  const ids = new Set(jobs.map((j) => j.jobId));
  const done = new Map<string, JobResult>();
  let spikeAt = 0;
  const deadline = Date.now() + opts.timeoutMs;
  while (done.size < ids.size && Date.now() < deadline) {
    if (!spikeAt && Date.now() - startedAt >= windowMs / 2) {
      spikeAt = Date.now();
      gov.simulator.addOtherCalls(limit - gov.simulator.windowTotal());
    }
    for (const m of await gov.drain(gov.resources.queueUrls.results, 1)) {
      const r = JSON.parse(m.Body ?? '{}') as JobResult;
      if (ids.has(r.jobId)) done.set(r.jobId, r);
    }
  }
  gov.simulator.setKnobs({ otherIntegrations: { requestsPerWindow: 0 } });
  const results = [...done.values()];
  const ours = gov.simulator
    .calls({ source: 'ours' })
    .filter((c) => c.at >= startedAt && !/ThresholdInformation/i.test(c.path));
  const counted = ours.filter((c) => c.countedInWindow).map((c) => c.at);
  const others = gov.simulator
    .calls({ source: 'other' })
    .filter((c) => c.countedInWindow && c.at > startedAt - windowMs)
    .map((c) => c.at);
  const firstCall = Math.min(...counted);
  const perSecond = (times: number[]) => {
    const out: Record<number, number> = {};
    for (const at of times)
      out[Math.floor((at - startedAt) / 1000)] = (out[Math.floor((at - startedAt) / 1000)] ?? 0) + 1;
    return JSON.stringify(out);
  };
  process.stdout.write(
    `  bursty: spike at ${((spikeAt - startedAt) / 1000).toFixed(1)} s; ours per second ${perSecond(counted)}\n` +
      `  others per second ${perSecond(others.filter((at) => at >= startedAt))}\n` +
      `  429s at ${perSecond(ours.filter((c) => c.outcome === 'throttled').map((c) => c.at))}\n`,
  );
  const lastDone = Math.max(...results.map((r) => Date.parse(r.completedAt)));
  const minimum = idealDrainMs(counted.length, others, firstCall, ceiling, windowMs);
  // busiest rolling windows, ending at each of our calls (the spike alone fills the cap in its window)
  let maxOurs = 0;
  let maxTotal = 0;
  for (const t of counted) {
    const oursIn = counted.filter((at) => at > t - windowMs && at <= t).length;
    maxOurs = Math.max(maxOurs, oursIn);
    if (t >= spikeAt && t < spikeAt + windowMs) continue;
    maxTotal = Math.max(maxTotal, oursIn + others.filter((at) => at > t - windowMs && at <= t).length);
  }
  // from each job's arrival in the jobs queue (its SentTimestamp: sending 1,440 jobs takes seconds)
  // to its result, as `waitedMs` reports it
  const criticalWaits = results
    .filter((r) => critical.has(r.jobId))
    .map((r) => r.waitedMs)
    .sort((a, b) => a - b);
  const p90 = criticalWaits[Math.max(0, Math.ceil(criticalWaits.length * 0.9) - 1)] ?? Number.NaN;
  const othersWindows = (lastDone - startedAt) / windowMs;
  return {
    jobs: jobs.length,
    succeeded: results.filter((r) => r.status === 'succeeded').length,
    calls: counted.length,
    othersPerWindow: round(
      others.filter((at) => at >= startedAt && (at < spikeAt || at >= spikeAt + 50)).length / othersWindows,
    ),
    drainSeconds: round((lastDone - firstCall) / 1000),
    minimumDrainSeconds: round(minimum / 1000),
    drainRatio: round((lastDone - firstCall) / minimum),
    overshoot: round(maxOurs / ceiling),
    busiestTotalOverCap: round(maxTotal / limit),
    busiestTotalOverNormalCeiling: round(maxTotal / ceiling),
    refused429BeforeSpike: ours.filter((c) => c.at < spikeAt && c.outcome === 'throttled').length,
    refused429AfterSpike: ours.filter((c) => c.at >= spikeAt && c.outcome === 'throttled').length,
    criticalJobs: critical.size,
    criticalP90Seconds: round(p90 / 1000),
    criticalBoundSeconds: round(windowSeconds / 60 + 5),
  };
};
