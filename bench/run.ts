/**
 * `npm run bench`: the governor against the limiters people use instead, on the local stack.
 * Writes bench/results/latest.json and bench/results/latest.md and prints the table.
 * BENCH_LIMIT / BENCH_WINDOW change the cap and the window (default 600 per 40 s).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_SECRET_PREFIX, LOCAL_USER, startLocalGovernor } from '#local/governor.ts';
import { putSecret } from '#local/secrets.ts';
import type { JobInput } from '#shared/jobs/schema.ts';
import { type BurstyResult, runBursty } from './bursty.ts';
import { governorDuplicates, limiterDuplicates } from './duplicates.ts';
import { addCounts, countDynamoRequests } from './dynamo-count.ts';
import { fixedWindowLimiter, type Limiter, rateLimiterDynamo } from './limiters.ts';
import { type RunOutcome, runGovernor, runWithLimiter, startWorkerChild } from './runners.ts';
import { readJobs, sleep } from './workload.ts';

const LIMIT = Number(process.env.BENCH_LIMIT ?? 600);
const WINDOW_SECONDS = Number(process.env.BENCH_WINDOW ?? 40);
const WINDOW_MS = WINDOW_SECONDS * 1000;
const CEILING = Math.floor(LIMIT * 0.8); // normal priority
const WORKERS = 32;
const KILLS = 50;
const DUP_JOBS = Number(process.env.BENCH_DUP_JOBS ?? 300);
const SYSTEMS = ['governor', 'fixed-window', 'rate-limiter-dynamo'] as const;
type System = (typeof SYSTEMS)[number];

const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);

const gov = await startLocalGovernor({
  simulator: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, latencyScale: 0.01, baseLatencyMs: 10 },
  connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS },
  // the worker pool runs in a child process (below), as Lambda runs workers apart from the services
  // they call: on one event loop with the emulators, the SDK's own work would set the pace
  worker: { inProcess: false },
});
const benchDynamo = new DynamoDBClient({
  region: gov.emulators.region,
  endpoint: gov.emulators.endpoints.dynamodb,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
/** BENCH_EXPLAIN=1: read the item after each failed condition to name the clause that failed (those
 *  reads are taken out of the request count). */
const EXPLAIN = process.env.BENCH_EXPLAIN === '1';
const { dynamo } = await import('#shared/aws/clients.ts');
// the sync runs here, the workers in the child: each counts its own requests
const syncCount = countDynamoRequests(dynamo, EXPLAIN ? { reader: benchDynamo } : undefined);
const workers = await startWorkerChild(gov, WORKERS);
const { DynamoConnectionStore } = await import('#shared/connections/store.ts');
const connections = new DynamoConnectionStore(dynamo, gov.resources.tableName);
const connectionSettings = {
  apiUser: LOCAL_USER.username,
  integrationCode: LOCAL_USER.integrationCode,
  limit: LIMIT,
  windowSeconds: WINDOW_SECONDS,
};
/** A connection of its own for one case, with its own secret (a connection may use no other). */
const putConnection = async (connectionId: string, enabled = true) => {
  const secretRef = `${LOCAL_SECRET_PREFIX}${connectionId}`;
  if (enabled) await putSecret(secretRef, { secret: LOCAL_USER.secret });
  await connections.put(connectionId, { ...connectionSettings, secretRef, enabled });
};
// Only the connection under test may be synced: another connection's ThresholdInformation reads
// would be "other integrations" for it (as they would be in a real database).
await putConnection(gov.connectionId, false);
const limiterFor = async (system: System, key: string): Promise<Limiter | undefined> => {
  if (system === 'fixed-window')
    return fixedWindowLimiter(benchDynamo, gov.resources.tableName, key, CEILING, WINDOW_MS);
  if (system === 'rate-limiter-dynamo')
    return rateLimiterDynamo(
      gov.emulators.endpoints.dynamodb,
      gov.emulators.region,
      key,
      CEILING,
      WINDOW_SECONDS,
    );
  return undefined;
};

interface CaseResult {
  system: System;
  case: 'overshoot' | 'throughput';
  jobs: number;
  succeeded: number;
  calls: number;
  maxOursInWindow: number;
  overshoot: number;
  maxDatabaseTotalInWindow: number;
  refused429: number;
  threadLimited: number;
  utilization: number;
  drainSeconds: number;
  drainRatio: number;
  dynamoRequests: number;
  dynamoByOperation: Record<string, number>;
  /** The functions' requests as `<command>:<item kind>[:cond][:failed]` (bench-side count). */
  dynamoByItem: Record<string, number>;
  storagePerCall: number;
}

const runCase = async (system: System, kind: CaseResult['case']): Promise<CaseResult> => {
  const key = `${system}-${kind}-${Date.now()}`;
  gov.simulator.setKnobs({
    otherIntegrations:
      kind === 'overshoot'
        ? { requestsPerWindow: Math.round(LIMIT * 0.2), bursty: true, burstEverySeconds: WINDOW_SECONDS / 6 }
        : { requestsPerWindow: 0 },
  });
  let connectionId = gov.connectionId;
  if (system === 'governor') {
    connectionId = key;
    await putConnection(connectionId);
  }
  const jobs: JobInput[] = readJobs(key, connectionId, 3 * CEILING);
  const limiter = await limiterFor(system, key);
  if (kind === 'overshoot') {
    // the backlog lands 3 s before a clock-window boundary: the burst straddles it
    const boundary = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS;
    await sleep((boundary - Date.now() > 3000 ? boundary : boundary + WINDOW_MS) - 3000 - Date.now());
  }
  gov.simulator.reset();
  gov.emulators.counters.reset();
  syncCount.reset();
  await workers.reset();
  const startedAt = Date.now();
  const outcome: RunOutcome = limiter
    ? await runWithLimiter(gov, limiter, jobs, WORKERS, 12 * WINDOW_MS)
    : await runGovernor(gov, jobs, 12 * WINDOW_MS);
  const child = await workers.counts();
  const dynamoRequests =
    gov.emulators.counters.dynamodbRequests() - syncCount.explainReads() - child.explainReads;
  const dynamoByItem = addCounts(syncCount.byItem(), child.byItem);
  if (system === 'governor') await putConnection(connectionId, false);
  // the governor's own ThresholdInformation reads are budgeted apart from the jobs (up to the cap) and shown
  // in the DB-total column; overshoot and utilization compare job calls with the jobs' ceiling
  const ours = gov.simulator
    .calls({ source: 'ours' })
    .filter((c) => c.at >= startedAt && !/ThresholdInformation/i.test(c.path));
  const counted = ours.filter((c) => c.countedInWindow);
  const syncCalls = gov.simulator
    .calls({ source: 'ours' })
    .filter((c) => c.at >= startedAt && /ThresholdInformation/i.test(c.path)).length;
  const firstCall = Math.min(...counted.map((c) => c.at));
  const lastCall = Math.max(...counted.map((c) => c.at));
  const lastDone = Math.max(...outcome.completedAt);
  const allowed = CEILING * (Math.floor((lastCall - firstCall) / WINDOW_MS) + 1);
  const maxOurs = maxInWindow(counted.map((c) => c.at));
  const result: CaseResult = {
    system,
    case: kind,
    jobs: jobs.length,
    succeeded: outcome.succeeded,
    calls: counted.length,
    maxOursInWindow: maxOurs,
    overshoot: round(maxOurs / CEILING),
    maxDatabaseTotalInWindow: gov.simulator.maxInRollingWindow({ source: 'all', from: startedAt }),
    refused429: ours.filter((c) => c.outcome === 'throttled').length,
    threadLimited: ours.filter((c) => c.outcome === 'thread-limit').length,
    utilization: round(Math.min(counted.length, jobs.length) / allowed),
    drainSeconds: round((lastDone - firstCall) / 1000),
    drainRatio: round((lastDone - firstCall) / (2 * WINDOW_MS)),
    dynamoRequests,
    dynamoByOperation: gov.emulators.counters.byOperation(),
    dynamoByItem,
    storagePerCall: round(dynamoRequests / Math.max(1, counted.length + syncCalls)),
  };
  log(`${system.padEnd(20)} ${kind.padEnd(10)} ${JSON.stringify(result)}`);
  const perSecond: Record<number, number> = {};
  for (const c of counted)
    perSecond[Math.floor((c.at - startedAt) / 1000)] =
      (perSecond[Math.floor((c.at - startedAt) / 1000)] ?? 0) + 1;
  log(`  calls per second since start: ${JSON.stringify(perSecond)}`);
  return result;
};

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The bursty-neighbours case as a Markdown table (also written alone to bench/results/bursty.md). */
function burstyTable(b: BurstyResult | undefined): string {
  if (!b) return '';
  return [
    `Bursty neighbours (governor): others ${Math.round(LIMIT * 0.2)} per window in bursts every ${(WINDOW_SECONDS / 6).toFixed(1)} s, one spike to the cap half a window after a backlog of ${b.jobs} jobs (${b.criticalJobs} critical) lands.`,
    '',
    '| drain time ÷ minimum given the others | overshoot (max ours in a rolling window ÷ ceiling) | busiest DB total ÷ cap (outside the spike) | 429s before the spike | 429s after it | critical p90 | succeeded |',
    '|---|---|---|---|---|---|---|',
    `| ${b.drainRatio.toFixed(2)} (${b.drainSeconds} s ÷ ${b.minimumDrainSeconds} s) | ${b.overshoot.toFixed(2)} | ${b.busiestTotalOverCap.toFixed(2)} | ${b.refused429BeforeSpike} | ${b.refused429AfterSpike} | ${b.criticalP90Seconds} s (bound ${b.criticalBoundSeconds} s) | ${b.succeeded} / ${b.jobs} |`,
    '',
    'Targets: drain ≤ 1.15 × minimum, overshoot ≤ 1.00, 0 × 429 before the spike, critical p90 ≤ one bucket + 5 s.',
  ].join('\n');
}

async function writeBursty(b: BurstyResult): Promise<void> {
  await mkdir('bench/results', { recursive: true });
  const at = new Date().toISOString();
  await writeFile(
    'bench/results/bursty.json',
    `${JSON.stringify({ at, limit: LIMIT, windowSeconds: WINDOW_SECONDS, ceiling: CEILING, workers: WORKERS, ...b }, null, 2)}\n`,
  );
  await writeFile('bench/results/bursty.md', `# Bursty neighbours (${at})\n\n${burstyTable(b)}\n`);
}
const maxInWindow = (times: number[]): number => {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= WINDOW_MS) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
};

log(
  `cap ${LIMIT} per rolling ${WINDOW_SECONDS} s, normal ceiling ${CEILING}, ${WORKERS} workers, backlog ${3 * CEILING}`,
);
// e.g. "governor:throughput" (or "governor:duplicates") to run one case while tuning
const only = process.env.BENCH_ONLY;
const cases: CaseResult[] = [];
for (const system of SYSTEMS) {
  for (const kind of ['throughput', 'overshoot'] as const) {
    if (!only || only === `${system}:${kind}`) cases.push(await runCase(system, kind));
  }
}
let bursty: BurstyResult | undefined;
if (!only || only === 'governor:bursty') {
  const connectionId = `governor-bursty-${Date.now()}`;
  await putConnection(connectionId);
  await workers.reset();
  bursty = await runBursty(gov, connectionId, {
    limit: LIMIT,
    windowSeconds: WINDOW_SECONDS,
    ceiling: CEILING,
    timeoutMs: 12 * WINDOW_MS,
  });
  await putConnection(connectionId, false);
  log(`governor             bursty     ${JSON.stringify(bursty)}`);
  await writeBursty(bursty);
}
if (only === 'governor:duplicates') {
  log(`governor             duplicates ${JSON.stringify(await governorDuplicates(gov, DUP_JOBS, KILLS))}`);
}
if (only) {
  await workers.stop();
  await gov.stop();
  process.exit(0);
}
await workers.stop();
gov.simulator.setKnobs({ otherIntegrations: { requestsPerWindow: 0 } });
gov.simulator.reset();
const duplicates: Record<string, Awaited<ReturnType<typeof governorDuplicates>>> = {};
duplicates.governor = await governorDuplicates(gov, DUP_JOBS, KILLS);
log(`governor             duplicates ${JSON.stringify(duplicates.governor)}`);
for (const system of ['fixed-window', 'rate-limiter-dynamo'] as const) {
  const limiter = await limiterFor(system, `dup-${system}-${Date.now()}`);
  duplicates[system] = await limiterDuplicates(gov, limiter as Limiter, system, DUP_JOBS, KILLS);
  log(`${system.padEnd(20)} duplicates ${JSON.stringify(duplicates[system])}`);
}
await gov.stop();
benchDynamo.destroy();

const pick = (system: System, kind: CaseResult['case']) =>
  cases.find((c) => c.system === system && c.case === kind) as CaseResult;
const label: Record<System, string> = {
  governor: '(a) autotask-governor',
  'fixed-window': '(b) fixed clock window',
  'rate-limiter-dynamo': '(c) RateLimiterDynamo',
};
const rows = SYSTEMS.map((s) => {
  const o = pick(s, 'overshoot');
  const t = pick(s, 'throughput');
  const d = duplicates[s];
  const deadLettered = Object.values(d?.deadLettered ?? {}).reduce((x, y) => x + y, 0);
  return `| ${label[s]} | ${o.overshoot.toFixed(2)} | ${o.refused429} | ${(o.maxDatabaseTotalInWindow / LIMIT).toFixed(2)} | ${t.utilization.toFixed(3)} | ${t.storagePerCall.toFixed(2)} | ${t.drainRatio.toFixed(2)} | ${d?.writesSentTwice ?? '-'} | ${d?.lost ?? '-'} | ${deadLettered} |`;
});
const table = [
  `Cap ${LIMIT} requests per rolling ${WINDOW_SECONDS} s (ceiling: normal ${CEILING}), ${WORKERS} workers, backlog ${3 * CEILING} jobs; overshoot run with other integrations using 20 % of the cap in bursts and the backlog landing 3 s before a clock-window boundary; ${KILLS} worker kills during ${DUP_JOBS} writes.`,
  '',
  '| system | overshoot (max ours in a rolling window ÷ ceiling) | 429s | busiest DB total ÷ cap | utilization | DynamoDB requests per call | drain time ÷ minimum | writes sent twice | jobs lost | dead-lettered after kills |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
  'Targets for (a): overshoot ≤ 1.00 with 0 × 429, utilization ≥ 0.98, ≤ 1.2 DynamoDB requests per call, drain ≤ 1.10 × minimum, 0 duplicates, 0 lost.',
].join('\n');
await mkdir('bench/results', { recursive: true });
const stamp = new Date().toISOString();
await writeFile(
  'bench/results/latest.json',
  `${JSON.stringify({ at: stamp, limit: LIMIT, windowSeconds: WINDOW_SECONDS, ceiling: CEILING, workers: WORKERS, cases, bursty, duplicates }, null, 2)}\n`,
);
await writeFile('bench/results/latest.md', `# Benchmark (${stamp})\n\n${table}\n\n${burstyTable(bursty)}\n`);
process.stdout.write(`\n${table}\n`);
process.exit(0);
