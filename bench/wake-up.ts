/**
 * `npm run bench:wake`: how soon waiting jobs resume after a manual wake, median of 5 trials:
 * - the wake to the first waiting job's Autotask call (simulator's log): target ≤ 5 s;
 * - the wake to the last job's result: target ≤ 30 s (README's promise).
 * One local governor with room in its budget; each trial puts the connection to sleep by hand
 * through the operators' API, sends 100 normal-priority GET jobs, waits until every one is parked
 * (shared/jobs/parking.ts), lets a random time pass, wakes the connection and times the calls and
 * results from the moment the wake was sent. A result completed before the wake would be a bug:
 * counted and reported. Writes bench/results/wake-up.json and wake-up.md; exits 1 on a missed target.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { startLocalGovernor } from '#local/governor.ts';
import { workerEventSource } from '#shared/config/resources.ts';
import type { JobInput } from '#shared/jobs/schema.ts';
import { collector } from '../test/support/governor-helpers.ts';
import { call, sleepMs, waitFor } from '../test/support/operators.ts';
import { queueCounts } from './workload.ts';

const TRIALS = 5;
const JOBS_PER_TRIAL = 100;
const LIMIT = 6000;
const WINDOW_SECONDS = 60;
const TARGET_SECONDS = 30;
const FIRST_CALL_TARGET_SECONDS = 5;
/** After all jobs wait, the wake lands at send + 12 s + random(0-10 s). */
const MIN_WAIT_BEFORE_WAKE_MS = 12_000;
const RANDOM_WAIT_BEFORE_WAKE_MS = 10_000;
/** Give up on a trial's stragglers this long after the wake (they count as not resumed). */
const RESULTS_TIMEOUT_MS = 60_000;

interface Trial {
  trial: number;
  jobs: number;
  /** Seconds from sending the jobs to the wake. */
  wokeAfterSendS: number;
  /** The wake to the first of these jobs' Autotask calls. */
  firstCallS: number;
  firstS: number;
  medianS: number;
  lastS: number;
  /** Results whose completedAt is before the wake was sent: a job ran while asleep (a bug). */
  ranBeforeWake: number;
  failed: number;
  deadLettered: number;
  missing: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2;
};

const gov = await startLocalGovernor({
  simulator: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, latencyScale: 0 },
  connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS },
});
let exitCode = 1;
try {
  const token = await gov.createToken('bench-wake', 'operator');
  const path = `/connections/${gov.connectionId}`;
  const results = collector(gov);
  const trials: Trial[] = [];
  const runId = Date.now().toString(36);

  for (let t = 1; t <= TRIALS; t++) {
    const slept = await call(gov, 'POST', `${path}/sleep`, { token, body: { reason: `bench trial ${t}` } });
    if (slept.status !== 200 || slept.json?.state !== 'asleep')
      throw new Error(`sleep answered ${slept.status}: ${slept.text}`);

    const jobs: JobInput[] = Array.from({ length: JOBS_PER_TRIAL }, (_, i) => ({
      jobId: `wake-${runId}-t${t}-${i}`,
      connectionId: gov.connectionId,
      priority: 'normal',
      request: { method: 'GET', path: `/Tickets/${(i % 9) + 1}` },
    }));
    const sentAt = Date.now();
    await gov.sendJobs(jobs);

    // every job is parked: none left on the jobs queue, all of them in the parked queue
    await waitFor(
      async () => {
        const [jobsQ, parkedQ] = await Promise.all([
          queueCounts(gov, gov.resources.queueUrls.jobs),
          queueCounts(gov, gov.resources.queueUrls.parked),
        ]);
        return jobsQ.total === 0 && parkedQ.total >= JOBS_PER_TRIAL;
      },
      30_000,
      200,
    );
    const allWaitingS = (Date.now() - sentAt) / 1000;

    const wakeAt = sentAt + MIN_WAIT_BEFORE_WAKE_MS + Math.random() * RANDOM_WAIT_BEFORE_WAKE_MS;
    await sleepMs(Math.max(0, wakeAt - Date.now()));
    const wakeSentAt = Date.now();
    const woken = await call(gov, 'POST', `${path}/wake`, { token, body: { reason: `bench trial ${t}` } });
    if (woken.status !== 200 || woken.json?.state !== 'awake')
      throw new Error(`wake answered ${woken.status}: ${woken.text}`);

    const done = () => jobs.every((j) => results.results.has(j.jobId) || results.dead.has(j.jobId));
    await results.until(done, RESULTS_TIMEOUT_MS);

    const latencies: number[] = [];
    let ranBeforeWake = 0;
    let failed = 0;
    for (const j of jobs) {
      const r = results.results.get(j.jobId);
      if (!r) continue;
      const completedAt = Date.parse(r.completedAt);
      if (completedAt < wakeSentAt) ranBeforeWake++;
      if (r.status !== 'succeeded') failed++;
      latencies.push((completedAt - wakeSentAt) / 1000);
    }
    const deadLettered = jobs.filter((j) => results.dead.has(j.jobId)).length;
    const firstCall = Math.min(
      ...gov.simulator
        .calls({ source: 'ours' })
        .filter((c) => c.at >= wakeSentAt && /Tickets/.test(c.path))
        .map((c) => c.at),
    );
    const missing = JOBS_PER_TRIAL - latencies.length - deadLettered;
    const trial: Trial = {
      trial: t,
      jobs: JOBS_PER_TRIAL,
      wokeAfterSendS: round1((wakeSentAt - sentAt) / 1000),
      firstCallS: Math.round(firstCall - wakeSentAt) / 1000,
      firstS: round1(Math.min(...latencies)),
      medianS: round1(median(latencies)),
      // a job that never came back counts as never resumed
      lastS: missing + deadLettered > 0 ? Number.POSITIVE_INFINITY : round1(Math.max(...latencies)),
      ranBeforeWake,
      failed,
      deadLettered,
      missing,
    };
    trials.push(trial);
    process.stdout.write(
      `trial ${t}: all waiting after ${allWaitingS.toFixed(1)} s, woken ${trial.wokeAfterSendS} s after send; ` +
        `first call ${trial.firstCallS} s, first result ${trial.firstS} s, median ${trial.medianS} s, last ${trial.lastS} s` +
        (ranBeforeWake || failed || deadLettered || missing
          ? ` (ran before wake ${ranBeforeWake}, failed ${failed}, dead-lettered ${deadLettered}, missing ${missing})`
          : '') +
        '\n',
    );
  }

  const lasts = trials.map((t) => t.lastS);
  const medianLastS = median(lasts);
  const medianFirstCallS = median(trials.map((t) => t.firstCallS));
  const maxLastS = Math.max(...lasts);
  const ranBeforeWake = trials.reduce((n, t) => n + t.ranBeforeWake, 0);
  const problems = trials.reduce((n, t) => n + t.failed + t.deadLettered + t.missing, 0);
  const pass =
    medianLastS <= TARGET_SECONDS &&
    medianFirstCallS <= FIRST_CALL_TARGET_SECONDS &&
    ranBeforeWake === 0 &&
    problems === 0;

  const at = new Date().toISOString();
  const batchingWindowSeconds = workerEventSource.maxBatchingWindowSeconds;
  const settings =
    `Simulator and connection: ${LIMIT} requests per rolling ${WINDOW_SECONDS} s (room to spare), no simulated ` +
    `latency, sync every ${(WINDOW_SECONDS * 1000) / 60 / 1000} s (default), worker batching window ` +
    `${batchingWindowSeconds} s. Each trial: sleep by hand (POST /connections/{id}/sleep, operator token), ` +
    `${JOBS_PER_TRIAL} normal-priority GET jobs, wake (POST /connections/{id}/wake) ` +
    `${MIN_WAIT_BEFORE_WAKE_MS / 1000}–${(MIN_WAIT_BEFORE_WAKE_MS + RANDOM_WAIT_BEFORE_WAKE_MS) / 1000} s after ` +
    `sending them (after all were parked); times from the wake request to the first of the trial's Autotask ` +
    `calls (simulator's log) and to each job's completedAt.`;
  const bound =
    `Parked jobs are handed back by the wake itself (the API function moves them from the parked queue to ` +
    `the delay queue before it answers, shared/jobs/parking.ts): the first call waits for the move of its ` +
    `batch of 10 and the worker's ${batchingWindowSeconds} s batching window (a batch fills at once when 25 wait); the last for the move of all ` +
    `${JOBS_PER_TRIAL} and the workers' pace. A waiting job costs no SQS request while it waits ` +
    `(docs/operations.md, "Parked jobs").`;
  const table = [
    '| trial | woken after send | first Autotask call | first job resumed | median job | last job resumed | ran before wake |',
    '|---|---|---|---|---|---|---|',
    ...trials.map(
      (t) =>
        `| ${t.trial} | ${t.wokeAfterSendS} s | ${t.firstCallS} s | ${t.firstS} s | ${t.medianS} s | ${t.lastS} s | ${t.ranBeforeWake} |`,
    ),
    '',
    `Median over ${TRIALS} trials of "first Autotask call": **${medianFirstCallS} s** (target ≤ ${FIRST_CALL_TARGET_SECONDS} s).`,
    `Median over ${TRIALS} trials of "last job resumed": **${medianLastS} s** (target ≤ ${TARGET_SECONDS} s); max ${maxLastS} s.` +
      ` Jobs run before the wake: ${ranBeforeWake}; failed, dead-lettered or missing: ${problems}.`,
  ].join('\n');

  await mkdir('bench/results', { recursive: true });
  await writeFile(
    'bench/results/wake-up.json',
    `${JSON.stringify(
      {
        at,
        node: process.version,
        settings: {
          limit: LIMIT,
          windowSeconds: WINDOW_SECONDS,
          latencyScale: 0,
          jobsPerTrial: JOBS_PER_TRIAL,
          priority: 'normal',
          wakeAfterSendMs: [MIN_WAIT_BEFORE_WAKE_MS, MIN_WAIT_BEFORE_WAKE_MS + RANDOM_WAIT_BEFORE_WAKE_MS],
          batchingWindowSeconds,
        },
        trials,
        medianFirstCallS,
        firstCallTargetS: FIRST_CALL_TARGET_SECONDS,
        medianLastS,
        maxLastS,
        ranBeforeWake,
        targetS: TARGET_SECONDS,
        pass,
      },
      null,
      2,
    )}\n`,
  );
  await writeFile(
    'bench/results/wake-up.md',
    `# Wake-up latency (${at})\n\n${settings}\n\n${table}\n\n${bound}\n`,
  );
  process.stdout.write(`\n${table}\n\n${bound}\n`);
  if (pass) exitCode = 0;
  else
    process.stdout.write(
      `FAIL: median first call ${medianFirstCallS} s (target ≤ ${FIRST_CALL_TARGET_SECONDS} s), median last ${medianLastS} s (target ≤ ${TARGET_SECONDS} s), ran before wake ${ranBeforeWake}, problems ${problems}\n`,
    );
} catch (err) {
  process.stderr.write(`FAIL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
} finally {
  await gov.stop().catch(() => undefined);
}
process.exit(exitCode);
