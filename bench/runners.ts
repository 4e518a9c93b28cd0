import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { LOCAL_USER, type LocalGovernor } from '#local/governor.ts';
import { AutotaskHttpClient } from '#shared/autotask/client.ts';
import { workerEventSource } from '#shared/config/resources.ts';
import { AutotaskError } from '#shared/errors.ts';
import type { JobResult } from '#shared/jobs/result.ts';
import type { JobInput } from '#shared/jobs/schema.ts';
import type { Limiter } from './limiters.ts';
import { sleep } from './workload.ts';

export interface RunOutcome {
  /** Completion time of every job (ms). */
  completedAt: number[];
  succeeded: number;
  failed: number;
}

/** (a) The governor: jobs go on SQS, the same worker handler Lambda runs executes them. */
export const runGovernor = async (
  gov: LocalGovernor,
  jobs: JobInput[],
  timeoutMs: number,
): Promise<RunOutcome> => {
  const chunks: JobInput[][] = [];
  for (let i = 0; i < jobs.length; i += 200) chunks.push(jobs.slice(i, i + 200));
  await Promise.all(chunks.map((chunk) => gov.sendJobs(chunk)));
  const ids = new Set(jobs.map((j) => j.jobId));
  const done = new Map<string, JobResult>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < ids.size && Date.now() < deadline) {
    for (const m of await gov.drain(gov.resources.queueUrls.results, 1)) {
      const r = JSON.parse(m.Body ?? '{}') as JobResult;
      if (ids.has(r.jobId)) done.set(r.jobId, r);
    }
  }
  const results = [...done.values()];
  return {
    completedAt: results.map((r) => Date.parse(r.completedAt)),
    succeeded: results.filter((r) => r.status === 'succeeded').length,
    failed: ids.size - results.filter((r) => r.status === 'succeeded').length,
  };
};

/**
 * (b), (c): 32 workers share the backlog; each asks its limiter before every call and, like the
 * usual client libraries, backs off exponentially (1 s .. 30 s) on a 429 and briefly on a thread-limit error.
 */
export const runWithLimiter = async (
  gov: LocalGovernor,
  limiter: Limiter,
  jobs: JobInput[],
  workers: number,
  timeoutMs: number,
): Promise<RunOutcome> => {
  const client = new AutotaskHttpClient({ zoneDiscoveryUrl: gov.simulator.zoneDiscoveryUrl });
  const zone = await client.discoverZone(LOCAL_USER.username);
  const queue = [...jobs];
  const completedAt: number[] = [];
  let failed = 0;
  const deadline = Date.now() + timeoutMs;
  const worker = async () => {
    for (let job = queue.shift(); job && Date.now() < deadline; job = queue.shift()) {
      let backoff = 1000;
      for (;;) {
        await limiter.acquire();
        try {
          await client.send(zone, LOCAL_USER, {
            method: job.request.method,
            path: job.request.path,
            body: job.request.body,
          });
          completedAt.push(Date.now());
          break;
        } catch (err) {
          if (err instanceof AutotaskError && err.kind === 'throttled') {
            await sleep(backoff);
            backoff = Math.min(30_000, backoff * 2);
          } else if (err instanceof AutotaskError && err.kind === 'thread-limit') {
            await sleep(100 + Math.random() * 200);
          } else {
            failed++;
            break;
          }
        }
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return { completedAt, succeeded: completedAt.length, failed: failed + queue.length };
};

/** Starts bench/worker-child.ts with `env` and resolves once it polls; `ipc` opens the channel it answers on. */
export const spawnWorker = async (env: NodeJS.ProcessEnv, ipc = false): Promise<ChildProcess> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/worker-child.ts'], {
    env,
    stdio: ['ignore', 'pipe', ipc ? 'inherit' : 'ignore', ...(ipc ? (['ipc'] as const) : [])],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    // BENCH_WORKER_LOG=<file>: the worker pool's JSON logs (info level) go there
    if (ipc && process.env.BENCH_WORKER_LOG)
      child.stdout?.pipe(createWriteStream(process.env.BENCH_WORKER_LOG));
    child.once('exit', (code) =>
      reject(new Error(`the worker process exited (${code}) before it was ready`)),
    );
  });
  return child;
};

export interface WorkerChild {
  reset(): Promise<void>;
  counts(): Promise<{ byItem: Record<string, number>; explainReads: number }>;
  stop(): Promise<void>;
}

/**
 * (a)'s worker pool, Lambda's event source mappings on the jobs and delay queues with `concurrency`
 * invocations each, of the deployed batch size and batching window, in a process of its own.
 */
export const startWorkerChild = async (gov: LocalGovernor, concurrency: number): Promise<WorkerChild> => {
  const child = await spawnWorker(
    {
      ...process.env,
      JOBS_QUEUE_ARN: gov.resources.queueArns.jobs,
      DELAY_QUEUE_ARN: gov.resources.queueArns.delay,
      CRITICAL_QUEUE_ARN: gov.resources.queueArns.critical,
      BENCH_WORKER_BATCH_SIZE: String(workerEventSource.batchSize),
      BENCH_WORKER_CONCURRENCY: String(concurrency),
      LOG_LEVEL: process.env.BENCH_WORKER_LOG ? 'info' : 'silent',
    },
    true,
  );
  type Counts = Awaited<ReturnType<WorkerChild['counts']>>;
  return {
    reset: async () => {
      child.send({ type: 'reset' });
    },
    counts: () =>
      new Promise<Counts>((resolve) => {
        child.once('message', (message) => resolve(message as Counts));
        child.send({ type: 'counts' });
      }),
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
};
