import { describe, expect, it } from 'vitest';
import { matchPath } from '#shared/autotask/paths.ts';
import type { AutotaskApi, AutotaskCall } from '#shared/autotask/types.ts';
import type { BudgetStore, ReserveOutcome, ReserveRequest } from '#shared/budget/store.ts';
import type { Connection } from '#shared/connections/model.ts';
import { AutotaskError } from '#shared/errors.ts';
import type { Claim, ExecutionStore } from '#shared/jobs/executions.ts';
import { processBatch } from '#shared/jobs/process-batch.ts';
import type { JobMeta, JobQueue } from '#shared/jobs/queue.ts';
import { ATTR } from '#shared/jobs/queue.ts';
import type { DeadLetterReason, JobResult } from '#shared/jobs/result.ts';
import { type RunJobDeps, runJob } from '#shared/jobs/run-job.ts';
import { WorkerSession } from '#shared/jobs/worker-session.ts';
import { logger } from '#shared/observability/logger.ts';
import { configureMetrics } from '#shared/observability/metrics.ts';

configureMetrics({ enabled: false });
const NOW = 1_800_000_000_000;

const connection: Connection = {
  connectionId: 'c1',
  apiUser: 'api@msp.example',
  integrationCode: 'CODE',
  secretRef: 'ref',
  enabled: true,
  limit: 100,
  windowSeconds: 60,
  ceilings: { bulk: 0.6, normal: 0.8, critical: 0.95 },
  thresholds: { warn: 0.75, sleep: 0.9, resume: 0.7 },
  alertRecipients: [],
  criticalWhileAsleep: true,
  zoneUrl: 'http://zone.example/atservicesrest/',
  createdAt: '',
  updatedAt: '',
};

/** In-memory stand-ins for the ports (the SQS/DynamoDB adapters are exercised by the integration tests). */
const harness = (
  opts: {
    grants?: ReserveOutcome[];
    answers?: Array<unknown | AutotaskError>;
    claim?: Claim;
    /** Sends to the results queue / `replyTo` that fail (the next N, or all with Infinity). */
    publishFailures?: number;
    /** Sends to the dead-letter queue that fail. */
    deadLetterFailures?: number;
    replyQueueUrls?: string[];
  } = {},
) => {
  const delayed: Array<{ seconds: number; meta: JobMeta }> = [];
  const dead: Array<{ reason: DeadLetterReason; error: string; result?: JobResult }> = [];
  const reservations: number[] = [];
  const failures = { publish: opts.publishFailures ?? 0, deadLetter: opts.deadLetterFailures ?? 0 };
  const results: JobResult[] = [];
  const sent: AutotaskCall[] = [];
  const blocked: number[] = [];
  const executions: string[] = [];
  const grants = [...(opts.grants ?? [])];
  const answers = [...(opts.answers ?? [{ item: { id: 1 } }])];
  const budget = {
    reserve: async () => {
      reservations.push(1);
      return grants.shift() ?? { granted: true, bucket: 1, left: 10 };
    },
    release: async () => {},
    block: async (_: string, until: number) => {
      blocked.push(until);
    },
    flushCounters: async () => {},
  } as unknown as BudgetStore;
  const autotask: AutotaskApi = {
    discoverZone: async () => 'http://zone.example/atservicesrest/',
    send: async (_zone, _creds, call) => {
      sent.push(call);
      const answer = answers.shift();
      if (answer instanceof AutotaskError) throw answer;
      return { status: 200, body: answer, nextPage: null };
    },
  };
  const queue: JobQueue = {
    delay: async (_body, seconds, meta) => {
      delayed.push({ seconds, meta });
    },
    deadLetter: async (_body, reason, error, _meta, result) => {
      if (failures.deadLetter-- > 0) throw new Error('dead-letter queue unavailable');
      dead.push({ reason, error, ...(result ? { result } : {}) });
    },
    publishResult: async (result) => {
      if (failures.publish-- > 0) throw new Error('QueueDoesNotExist: the reply queue does not exist');
      results.push(result);
    },
  };
  const execStore: ExecutionStore = {
    claim: async () => {
      executions.push('claim');
      return opts.claim ?? { state: 'claimed' };
    },
    complete: async () => {
      executions.push('complete');
    },
    abandon: async () => {
      executions.push('abandon');
    },
  };
  const deps: RunJobDeps = {
    connections: {
      get: async (id) => (id === 'c1' ? connection : undefined),
      zoneFor: async (c, discover) => c.zoneUrl ?? discover(),
    },
    credentials: { credentialsFor: async () => ({ username: 'u', secret: 's', integrationCode: 'CODE' }) },
    budget,
    autotask,
    queue,
    executions: execStore,
    matchPath,
    ...(opts.replyQueueUrls ? { replyQueueUrls: opts.replyQueueUrls } : {}),
    log: logger.child({}),
    now: () => NOW,
    random: () => 0.5,
    sleep: async () => {},
  };
  return { deps, delayed, dead, results, sent, blocked, executions, reservations, failures };
};

const meta: JobMeta = { attempts: 0, firstSeenAt: NOW - 1000, throttles: 0 };
const job = (request: object, extra: object = {}) =>
  JSON.stringify({ jobId: 'j1', connectionId: 'c1', request, ...extra });
const run = (h: ReturnType<typeof harness>, body: string, m: JobMeta = meta) =>
  runJob({ body, meta: m }, new WorkerSession(), h.deps);

describe('runJob', () => {
  it('waits on the delay queue until the bucket with room, without spending an attempt', async () => {
    const h = harness({
      grants: [{ granted: false, reason: 'budget', retryAt: NOW + 42_000, retryBucket: 9, used: 80 }],
    });
    expect(await run(h, job({ method: 'GET', path: '/Tickets/1' }))).toBe('waiting');
    expect(h.sent).toHaveLength(0);
    expect(h.delayed).toHaveLength(1);
    // 42 s plus the normal band's jitter inside a 1 s bucket (900 ms usable): SQS delays the whole
    // seconds, the worker that receives it holds it for the rest
    expect(h.delayed[0]?.seconds).toBe(42);
    expect(h.delayed[0]?.meta).toEqual({
      attempts: 0,
      firstSeenAt: meta.firstSeenAt,
      throttles: 1,
      promisedBucket: 9,
      notBefore: NOW + 42_450,
    });
  });

  it('returns waiting jobs in priority order within the bucket where room opens, spread by jitter', async () => {
    connection.windowSeconds = 3600; // one-minute buckets
    try {
      const delays: Record<string, number[]> = { critical: [], normal: [], bulk: [] };
      for (const priority of ['critical', 'normal', 'bulk'] as const) {
        for (const r of [0, 0.5, 0.99]) {
          const h = harness({
            grants: [{ granted: false, reason: 'budget', retryAt: NOW + 120_000, retryBucket: 9, used: 80 }],
          });
          h.deps.random = () => r;
          await run(h, job({ method: 'GET', path: '/Tickets/1' }, { priority }));
          const back = (h.delayed[0]?.meta.notBefore ?? 0) - NOW;
          expect(h.delayed[0]?.seconds).toBe(Math.floor(back / 1000));
          delays[priority]?.push(back / 1000);
        }
      }
      // never before room opens, never past the bucket's end, critical first and bulk last
      expect(Math.min(...Object.values(delays).flat())).toBeGreaterThanOrEqual(120);
      expect(Math.max(...Object.values(delays).flat())).toBeLessThan(180);
      expect(Math.max(...(delays.critical ?? []))).toBeLessThanOrEqual(Math.min(...(delays.normal ?? [])));
      expect(Math.max(...(delays.normal ?? []))).toBeLessThanOrEqual(Math.min(...(delays.bulk ?? [])));
      expect(new Set(delays.normal).size).toBe(3); // spread, not all in one second
    } finally {
      connection.windowSeconds = 60;
    }
  });

  it('holds a job that SQS returned less than a second early until its not-before mark, then runs it', async () => {
    const h = harness({});
    const slept: number[] = [];
    h.deps.sleep = async (ms) => {
      slept.push(ms);
    };
    const body = job({ method: 'GET', path: '/Tickets/1' });
    expect(await run(h, body, { ...meta, notBefore: NOW + 400 })).toBe('succeeded');
    expect(slept[0]).toBe(400);
    expect(h.sent).toHaveLength(1);
    // more than a second early: back to the delay queue for the whole seconds left
    const early = harness({});
    expect(await run(early, body, { ...meta, notBefore: NOW + 2_500 })).toBe('waiting');
    expect(early.sent).toHaveLength(0);
    expect(early.delayed[0]?.seconds).toBe(2);
    expect(early.delayed[0]?.meta.notBefore).toBe(NOW + 2_500);
  });

  it('sends a waiting job early by the batching window and holds it when it comes back that early', async () => {
    // Lambda may gather a message for up to the window before invoking: it leaves the delay queue
    // that much early, and the worker holds it for the window plus SQS's rounding
    const h = harness({
      grants: [{ granted: false, reason: 'budget', retryAt: NOW + 42_000, retryBucket: 9, used: 80 }],
    });
    h.deps.batchingWindowMs = 1_000;
    const body = job({ method: 'GET', path: '/Tickets/1' });
    expect(await run(h, body)).toBe('waiting');
    expect(h.delayed[0]?.seconds).toBe(41);
    expect(h.delayed[0]?.meta.notBefore).toBe(NOW + 42_450);
    const back = harness({});
    back.deps.batchingWindowMs = 1_000;
    const slept: number[] = [];
    back.deps.sleep = async (ms) => {
      slept.push(ms);
    };
    expect(await run(back, body, { ...meta, notBefore: NOW + 1_900 })).toBe('succeeded');
    expect(slept[0]).toBe(1_900);
    // earlier than the window allows: back to the delay queue
    const early = harness({});
    early.deps.batchingWindowMs = 1_000;
    expect(await run(early, body, { ...meta, notBefore: NOW + 2_500 })).toBe('waiting');
    expect(early.delayed[0]?.seconds).toBe(1);
  });

  it('runs a batch in the order its jobs are due: one held for its not-before mark goes last', async () => {
    const h = harness({ answers: [{ id: 1 }, { id: 2 }, { id: 3 }] });
    let clock = NOW;
    h.deps.now = () => clock;
    h.deps.sleep = async (ms) => {
      clock += ms;
    };
    const message = (path: string, notBefore?: number) => ({
      messageId: path,
      body: job({ method: 'GET', path }),
      sentTimestamp: NOW,
      attributes: notBefore === undefined ? {} : { [ATTR.notBefore]: { stringValue: String(notBefore) } },
    });
    const settled = await processBatch(
      [message('/Tickets/1', NOW + 600), message('/Companies/1'), message('/Contacts/1')],
      h.deps,
      () => 60_000,
    );
    expect(settled.map((s) => s.status === 'fulfilled' && s.value)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect(h.sent.map((c) => c.path).at(-1)).toBe('/Tickets/1');
    expect(clock).toBe(NOW + 600); // held, not sent back to the delay queue
    expect(h.delayed).toHaveLength(0);
  });

  it('runs the critical jobs of a batch first, whatever their place in it', async () => {
    const h = harness({ answers: Array.from({ length: 6 }, (_, i) => ({ id: i })) });
    const message = (path: string, priority: string) => ({
      messageId: path,
      body: job({ method: 'GET', path }, { priority }),
      sentTimestamp: NOW,
      attributes: {},
    });
    await processBatch(
      [
        message('/Tickets/1', 'bulk'),
        message('/Companies/1', 'normal'),
        message('/Contacts/1', 'critical'),
        message('/Tickets/2', 'normal'),
        message('/Projects/1', 'critical'),
        message('/Companies/2', 'bulk'),
      ],
      h.deps,
      () => 60_000,
    );
    expect(
      h.sent
        .slice(0, 2)
        .map((c) => c.path)
        .sort(),
    ).toEqual(['/Contacts/1', '/Projects/1']);
    expect(h.sent).toHaveLength(6);
  });

  it('chains waits longer than 900 s with a not-before mark', async () => {
    const h = harness({
      grants: [{ granted: false, reason: 'budget', retryAt: NOW + 2_000_000, retryBucket: 9, used: 80 }],
    });
    await run(h, job({ method: 'GET', path: '/Tickets/1' }));
    expect(h.delayed[0]?.seconds).toBe(900);
    expect(h.delayed[0]?.meta.notBefore).toBeGreaterThanOrEqual(NOW + 2_000_000);
  });

  it('retries a 5xx with backoff and counts the attempt, then dead-letters after 5', async () => {
    const h = harness({ answers: [new AutotaskError('server', 'Autotask 503', 503)] });
    expect(await run(h, job({ method: 'GET', path: '/Tickets/1' }))).toBe('retrying');
    expect(h.delayed[0]?.meta.attempts).toBe(1);
    expect(h.delayed[0]?.seconds).toBeGreaterThanOrEqual(2);
    const last = harness({ answers: [new AutotaskError('server', 'Autotask 503', 503)] });
    expect(await run(last, job({ method: 'GET', path: '/Tickets/1' }), { ...meta, attempts: 4 })).toBe(
      'dead-lettered',
    );
    expect(last.dead[0]?.reason).toBe('autotask-unavailable');
  });

  it('publishes a failed result for a 4xx and does not retry', async () => {
    const h = harness({ answers: [new AutotaskError('client', 'Autotask 404', 404, ['not found'])] });
    expect(await run(h, job({ method: 'GET', path: '/Tickets/9' }))).toBe('failed');
    expect(h.results[0]).toMatchObject({
      status: 'failed',
      httpStatus: 404,
      error: { kind: 'client', errors: ['not found'] },
    });
    expect(h.delayed).toHaveLength(0);
  });

  it('blocks the connection on a 429 and requeues without spending an attempt', async () => {
    const h = harness({ answers: [new AutotaskError('throttled', 'threshold exceeded', 429)] });
    expect(await run(h, job({ method: 'GET', path: '/Tickets/1' }))).toBe('waiting');
    expect(h.blocked).toHaveLength(1);
    expect(h.delayed[0]?.meta.attempts).toBe(0);
  });

  it('never retries a write whose outcome is unknown', async () => {
    const h = harness({ answers: [new AutotaskError('timeout', 'timed out')] });
    expect(await run(h, job({ method: 'POST', path: '/Tickets', body: { title: 'x' } }))).toBe('failed');
    expect(h.results[0]?.error?.message).toMatch(/may or may not have been applied/);
    expect(h.executions).toEqual(['claim', 'complete']);
  });

  it('republishes the recorded result of a write that already ran instead of writing again', async () => {
    const recorded = { jobId: 'j1', status: 'succeeded' } as JobResult;
    const h = harness({ claim: { state: 'done', result: recorded } });
    expect(await run(h, job({ method: 'PATCH', path: '/Tickets', body: { id: 1 } }))).toBe('succeeded');
    expect(h.sent).toHaveLength(0);
    expect(h.results).toEqual([recorded]);
  });

  it('dead-letters a write a crashed worker may have sent, and does not send it again', async () => {
    const h = harness({ claim: { state: 'in-flight', since: NOW - 600_000 } });
    expect(await run(h, job({ method: 'POST', path: '/Tickets', body: { title: 'x' } }))).toBe(
      'dead-lettered',
    );
    expect(h.dead[0]?.reason).toBe('outcome-unknown');
    expect(h.sent).toHaveLength(0);
  });

  it('treats POST queries as reads (no execution record)', async () => {
    const h = harness({ answers: [{ items: [], pageDetails: { count: 0 } }] });
    expect(await run(h, job({ method: 'POST', path: '/Tickets/query', body: { filter: [] } }))).toBe(
      'succeeded',
    );
    expect(h.executions).toEqual([]);
  });

  it('dead-letters expired jobs and unknown connections with their reasons', async () => {
    const h = harness();
    await run(h, job({ method: 'GET', path: '/Tickets/1' }, { expiresAt: new Date(NOW - 1).toISOString() }));
    await run(
      h,
      JSON.stringify({ jobId: 'j2', connectionId: 'nope', request: { method: 'GET', path: '/Tickets/1' } }),
    );
    expect(h.dead.map((d) => d.reason)).toEqual(['expired', 'unknown-connection']);
  });
});

describe('replyTo, undeliverable results and deep bodies (issue 21)', () => {
  const REPLIES = 'https://sqs.eu-west-1.amazonaws.com/123456789012/crm-replies';
  const OTHER = 'https://sqs.eu-west-1.amazonaws.com/999999999999/someone-elses-queue';
  const write = { method: 'POST', path: '/Tickets', body: { title: 'x' } };

  it('dead-letters a replyTo outside the reply queues before any reservation or call', async () => {
    const h = harness({ replyQueueUrls: [REPLIES] });
    expect(await run(h, job({ method: 'GET', path: '/Tickets/1' }, { replyTo: OTHER }))).toBe(
      'dead-lettered',
    );
    expect(await run(h, job(write, { replyTo: OTHER }))).toBe('dead-lettered');
    // without REPLY_QUEUE_URLS no replyTo is allowed at all
    expect(await run(harness(), job({ method: 'GET', path: '/Tickets/1' }, { replyTo: REPLIES }))).toBe(
      'dead-lettered',
    );
    expect(h.dead.map((d) => d.reason)).toEqual(['reply-not-allowed', 'reply-not-allowed']);
    expect(h.dead[0]?.error).toContain(OTHER);
    expect(h.reservations).toHaveLength(0);
    expect(h.executions).toEqual([]);
    expect(h.sent).toHaveLength(0);
  });

  it('dead-letters a replyTo that is not an SQS queue URL as invalid-job', async () => {
    const h = harness({ replyQueueUrls: [REPLIES] });
    for (const replyTo of [
      'https://attacker.example/123456789012/q',
      'http://127.0.0.1:9324/000000000000/q',
      `${REPLIES}?x=1`,
      'https://sqs.eu-west-1.amazonaws.com.attacker.example/123456789012/q',
    ])
      await run(h, job({ method: 'GET', path: '/Tickets/1' }, { replyTo }));
    expect(h.dead.map((d) => d.reason)).toEqual(Array(4).fill('invalid-job'));
    expect(h.sent).toHaveLength(0);
  });

  it('publishes to an allowed replyTo', async () => {
    const h = harness({ replyQueueUrls: [REPLIES] });
    expect(await run(h, job({ method: 'GET', path: '/Tickets/1' }, { replyTo: REPLIES }))).toBe('succeeded');
    expect(h.results).toHaveLength(1);
  });

  it('a read whose result cannot be published is dead-lettered with its result, not called again', async () => {
    const h = harness({
      replyQueueUrls: [REPLIES],
      publishFailures: 1,
      answers: [{ item: { id: 1, title: 't' } }],
    });
    expect(await run(h, job({ method: 'GET', path: '/Tickets/1' }, { replyTo: REPLIES }))).toBe(
      'dead-lettered',
    );
    expect(h.sent).toHaveLength(1);
    expect(h.dead).toHaveLength(1);
    expect(h.dead[0]).toMatchObject({
      reason: 'result-undeliverable',
      result: {
        jobId: 'j1',
        status: 'succeeded',
        httpStatus: 200,
        response: { item: { id: 1, title: 't' } },
      },
    });
    expect(h.dead[0]?.error).toMatch(/could not be published to .*crm-replies.*QueueDoesNotExist/);
  });

  it('a write whose result cannot be published is dead-lettered with its result after recording it', async () => {
    const h = harness({ publishFailures: 1 });
    expect(await run(h, job(write))).toBe('dead-lettered');
    expect(h.sent).toHaveLength(1);
    expect(h.executions).toEqual(['claim', 'complete']);
    expect(h.dead[0]).toMatchObject({ reason: 'result-undeliverable', result: { status: 'succeeded' } });
  });

  it('a failed result (Autotask 4xx) that cannot be published is dead-lettered with it too', async () => {
    const h = harness({ publishFailures: 1, answers: [new AutotaskError('client', 'no such ticket', 404)] });
    expect(await run(h, job({ method: 'GET', path: '/Tickets/987' }))).toBe('dead-lettered');
    expect(h.sent).toHaveLength(1);
    expect(h.dead[0]).toMatchObject({
      reason: 'result-undeliverable',
      result: { status: 'failed', httpStatus: 404 },
    });
  });

  it('a write redelivered after even the dead letter failed publishes its recorded result, never calls again', async () => {
    const h = harness({ publishFailures: 2, deadLetterFailures: 1 });
    // a stateful execution store, as DynamoDB keeps it between deliveries
    const records = new Map<string, JobResult | 'in-flight'>();
    h.deps.executions = {
      claim: async (c, id) => {
        const found = records.get(`${c}/${id}`);
        if (found === undefined) {
          records.set(`${c}/${id}`, 'in-flight');
          return { state: 'claimed' };
        }
        return found === 'in-flight' ? { state: 'in-flight', since: NOW } : { state: 'done', result: found };
      },
      complete: async (c, id, result) => {
        records.set(`${c}/${id}`, result);
      },
      abandon: async () => {},
    };
    const body = job(write);
    // first delivery: Autotask answers, the result cannot be published, nor dead-lettered: it throws
    // so SQS delivers the message again
    await expect(run(h, body)).rejects.toThrow(/dead-letter queue unavailable/);
    expect(h.sent).toHaveLength(1);
    // the redelivery finds the recorded result: it tries to publish it, then dead-letters it with it
    expect(await run(h, body)).toBe('dead-lettered');
    expect(h.sent).toHaveLength(1);
    expect(h.dead[0]).toMatchObject({ reason: 'result-undeliverable', result: { status: 'succeeded' } });
  });

  it('dead-letters a body nested 20,000 levels deep as invalid-job: no reservation, no claim, no call', async () => {
    // built as text: JSON.stringify itself overflows the stack on it (that is the point)
    const deep = `${'{"a":'.repeat(20_000)}{"title":"x"}${'}'.repeat(20_000)}`;
    const body = `{"jobId":"j1","connectionId":"c1","request":{"method":"POST","path":"/Tickets","body":${deep}}}`;
    const h = harness();
    expect(await run(h, body)).toBe('dead-lettered');
    expect(h.dead.map((d) => d.reason)).toEqual(['invalid-job']);
    expect(h.dead[0]?.error).toMatch(/nested deeper than 64 levels/);
    expect(h.reservations).toHaveLength(0);
    expect(h.executions).toEqual([]);
    expect(h.sent).toHaveLength(0);
  });
});

describe('a job waiting inside the invocation', () => {
  it('keeps its place in the bucket it waits for until it reserves again', async () => {
    const h = harness();
    const promised: Array<number | undefined> = [];
    const outcomes: ReserveOutcome[] = [
      { granted: false, reason: 'budget', retryAt: NOW + 500, retryBucket: 7, used: 80 },
      { granted: true, bucket: 7, left: 1 },
    ];
    h.deps.budget = {
      ...h.deps.budget,
      reserve: async (request: ReserveRequest) => {
        promised.push(request.promisedBucket);
        return outcomes.shift() as ReserveOutcome;
      },
    } as unknown as BudgetStore;
    const m: JobMeta = { ...meta, promisedBucket: 4 };
    expect(await run(h, job({ method: 'GET', path: '/Tickets/1' }), m)).toBe('succeeded');
    // the place promised by the delay queue is given back by the first try, the one promised by
    // the refusal (a wait short enough to sleep through) by the second
    expect(promised).toEqual([4, 7]);
  });
});

describe('thread lease of the last job of a batch', () => {
  const leaseBudget = (h: ReturnType<typeof harness>) => {
    const leases: number[] = [];
    const renewed: number[] = [];
    let released = 0;
    h.deps.budget = {
      ...h.deps.budget,
      reserve: async (request: { thread?: { leaseMs: number; holder: string } }) => {
        const leaseMs = request.thread?.leaseMs ?? 0;
        leases.push(leaseMs);
        return {
          granted: true,
          bucket: 1,
          left: 10,
          lease: {
            connectionId: 'c1',
            attribute: 't_Tickets',
            holder: request.thread?.holder ?? '',
            expiresAt: NOW + leaseMs,
          },
        };
      },
      renew: async (lease: { expiresAt: number }, leaseMs: number) => {
        renewed.push(leaseMs);
        return { ...lease, expiresAt: NOW + leaseMs };
      },
      release: async () => {
        released++;
      },
    } as unknown as BudgetStore;
    return { leases, renewed, released: () => released };
  };

  it('takes a short lease for the last job and leaves nothing to release', async () => {
    const h = harness();
    const b = leaseBudget(h);
    const session = new WorkerSession();
    const body = job({ method: 'GET', path: '/Tickets/1' });
    await runJob({ body, meta }, session, h.deps);
    expect(session.lease?.expiresAt).toBe(NOW + 25_000); // an earlier job: full lease, kept for the next
    await runJob({ body, meta }, session, h.deps, { lastInBatch: true });
    // the earlier request took no time (a fixed clock): the shortest lease
    expect(b.leases).toEqual([25_000, 300]);
    expect(session.lease).toBeUndefined(); // the short lease runs out by itself
    await session.releaseAll(h.deps.budget);
    expect(b.released()).toBe(0);
    expect(b.renewed).toEqual([]);
  });

  it("sizes the short lease to about three of the batch's recent requests, within 0.3-1 s", () => {
    const session = new WorkerSession();
    expect(session.shortLeaseMs()).toBe(1_000); // nothing timed yet: the longest
    session.recordCall(40);
    expect(session.shortLeaseMs()).toBe(300);
    for (let i = 0; i < 20; i++) session.recordCall(200);
    expect(session.shortLeaseMs()).toBeGreaterThan(590);
    expect(session.shortLeaseMs()).toBeLessThanOrEqual(600);
    session.recordCall(5_000);
    expect(session.shortLeaseMs()).toBe(1_000);
  });

  it('renews the short lease to the full one while a slow request is still running', async () => {
    const h = harness();
    const b = leaseBudget(h);
    h.deps.autotask = {
      ...h.deps.autotask,
      send: async () => {
        await new Promise((resolve) => setTimeout(resolve, 700)); // past half of the 1 s lease
        return { status: 200, body: { item: { id: 1 } }, nextPage: null };
      },
    };
    const session = new WorkerSession();
    const outcome = await runJob(
      { body: job({ method: 'GET', path: '/Tickets/1' }), meta },
      session,
      h.deps,
      {
        lastInBatch: true,
      },
    );
    expect(outcome).toBe('succeeded');
    expect(b.renewed).toEqual([25_000]);
    expect(session.lease?.expiresAt).toBe(NOW + 25_000); // renewed: released when the batch ends
    await session.releaseAll(h.deps.budget);
    expect(b.released()).toBe(1);
  });
});

describe('writes are sent once unless the job says otherwise (issue 22)', () => {
  const ticket = { method: 'POST', path: '/Tickets', body: { title: 'x', companyID: 1 } };
  const faults = {
    '5xx': () => new AutotaskError('server', 'Autotask 500 POST /Tickets: internal error', 500),
    timeout: () => new AutotaskError('timeout', 'Autotask POST /Tickets: no complete answer within 20000 ms'),
    reset: () => new AutotaskError('network', 'Autotask POST /Tickets: network error (ECONNRESET)'),
  };

  /** An execution store that keeps its records between runs, with the DynamoDB store's conditions. */
  const statefulExecutions = (h: ReturnType<typeof harness>) => {
    const records = new Map<string, { status: 'in-flight' | 'abandoned' | 'done'; result?: JobResult }>();
    h.deps.executions = {
      claim: async (c, id) => {
        h.executions.push('claim');
        const found = records.get(`${c}/${id}`);
        if (found === undefined || found.status === 'abandoned') {
          records.set(`${c}/${id}`, { status: 'in-flight' });
          return { state: 'claimed' };
        }
        return found.status === 'done' && found.result
          ? { state: 'done', result: found.result }
          : { state: 'in-flight', since: NOW };
      },
      complete: async (c, id, result) => {
        h.executions.push('complete');
        records.set(`${c}/${id}`, { status: 'done', result });
      },
      abandon: async (c, id) => {
        h.executions.push('abandon');
        if (records.get(`${c}/${id}`)?.status === 'in-flight')
          records.set(`${c}/${id}`, { status: 'abandoned' });
      },
    };
    return records;
  };

  for (const [fault, make] of Object.entries(faults)) {
    it(`a POST answered ${fault} is sent once and fails: its outcome is unknown`, async () => {
      const h = harness({ answers: [make(), { itemId: 2 }] });
      expect(await run(h, job(ticket))).toBe('failed');
      expect(h.sent).toHaveLength(1);
      expect(h.delayed).toHaveLength(0);
      expect(h.dead).toHaveLength(0);
      expect(h.results).toHaveLength(1);
      expect(h.results[0]).toMatchObject({ status: 'failed', calls: 1, attempts: 1 });
      expect(h.results[0]?.error?.message).toMatch(
        /may or may not have been applied, so it was not retried.*retryUnsafeWrites/,
      );
      // recorded like other failed writes: a redelivery republishes it instead of sending again
      expect(h.executions).toEqual(['claim', 'complete']);
    });
  }

  it('records the 5xx status and kind of a POST that is not resent', async () => {
    const h = harness({ answers: [faults['5xx']()] });
    await run(h, job(ticket));
    expect(h.results[0]).toMatchObject({ httpStatus: 500, error: { kind: 'server' } });
  });

  it('a POST with retryUnsafeWrites answered 5xx is retried with attempts + 1, then succeeds', async () => {
    const h = harness({ answers: [faults['5xx'](), { itemId: 7 }] });
    statefulExecutions(h);
    const body = job(ticket, { retryUnsafeWrites: true });
    expect(await run(h, body)).toBe('retrying');
    expect(h.sent).toHaveLength(1);
    expect(h.results).toHaveLength(0);
    expect(h.delayed).toHaveLength(1);
    expect(h.delayed[0]?.meta.attempts).toBe(1);
    expect(h.delayed[0]?.seconds).toBeGreaterThanOrEqual(1);
    expect(h.executions).toEqual(['claim', 'abandon']);
    // the next run (what the delay queue hands back) claims again and sends it
    expect(await run(h, body, h.delayed[0]?.meta)).toBe('succeeded');
    expect(h.sent).toHaveLength(2);
    expect(h.results[0]).toMatchObject({ status: 'succeeded', response: { itemId: 7 }, attempts: 2 });
    expect(h.executions).toEqual(['claim', 'abandon', 'claim', 'complete']);
  });

  it('a POST with retryUnsafeWrites is retried after a timeout and a reset too', async () => {
    for (const make of [faults.timeout, faults.reset]) {
      const h = harness({ answers: [make()] });
      expect(await run(h, job(ticket, { retryUnsafeWrites: true }))).toBe('retrying');
      expect(h.delayed[0]?.meta.attempts).toBe(1);
    }
  });

  it('retryUnsafeWrites: false is the default and behaves as if it were left out', async () => {
    const h = harness({ answers: [faults['5xx']()] });
    expect(await run(h, job(ticket, { retryUnsafeWrites: false }))).toBe('failed');
    expect(h.sent).toHaveLength(1);
    // not a boolean: the job fails the schema
    const bad = harness();
    expect(await run(bad, job(ticket, { retryUnsafeWrites: 'yes' }))).toBe('dead-lettered');
    expect(bad.dead[0]?.reason).toBe('invalid-job');
    expect(bad.sent).toHaveLength(0);
  });

  it('a PATCH answered 5xx is retried with attempts + 1 (the claim released), then applied once', async () => {
    const h = harness({
      answers: [new AutotaskError('server', 'Autotask 503 PATCH /Tickets', 503), { itemId: 1 }],
    });
    statefulExecutions(h);
    const body = job({ method: 'PATCH', path: '/Tickets', body: { id: 1, status: 5 } });
    expect(await run(h, body)).toBe('retrying');
    expect(h.delayed[0]?.meta.attempts).toBe(1);
    expect(h.executions).toEqual(['claim', 'abandon']);
    expect(await run(h, body, h.delayed[0]?.meta)).toBe('succeeded');
    expect(h.sent).toHaveLength(2);
    expect(h.results).toHaveLength(1);
    expect(h.results[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    // a redelivery of either message now republishes the recorded result: no third request
    expect(await run(h, body)).toBe('succeeded');
    expect(h.sent).toHaveLength(2);
  });

  it('a DELETE that timed out is retried', async () => {
    const h = harness({ answers: [new AutotaskError('timeout', 'no complete answer within 20000 ms')] });
    expect(await run(h, job({ method: 'DELETE', path: '/ActionTypes/3' }))).toBe('retrying');
    expect(h.sent).toHaveLength(1);
    expect(h.delayed[0]?.meta.attempts).toBe(1);
    expect(h.executions).toEqual(['claim', 'abandon']);
    expect(h.results).toHaveLength(0);
  });

  it('a PUT after a reset is retried, and dead-lettered autotask-unavailable when attempts run out', async () => {
    const put = job({ method: 'PUT', path: '/Tickets', body: { id: 2, title: 't', companyID: 1 } });
    const h = harness({ answers: [faults.reset()] });
    expect(await run(h, put)).toBe('retrying');
    expect(h.delayed[0]?.meta.attempts).toBe(1);
    const last = harness({ answers: [faults.reset()] });
    expect(await run(last, put, { ...meta, attempts: 4 })).toBe('dead-lettered');
    expect(last.dead[0]?.reason).toBe('autotask-unavailable');
    expect(last.executions).toEqual(['claim', 'abandon']);
    expect(last.results).toHaveLength(0);
  });

  it('a POST query answered 5xx is retried: it is a read', async () => {
    const h = harness({ answers: [faults['5xx']()] });
    expect(await run(h, job({ method: 'POST', path: '/Tickets/query', body: { filter: [] } }))).toBe(
      'retrying',
    );
    expect(h.delayed[0]?.meta.attempts).toBe(1);
    expect(h.executions).toEqual([]);
    const count = harness({ answers: [faults.reset()] });
    expect(
      await run(count, job({ method: 'POST', path: '/Tickets/query/count', body: { filter: [] } })),
    ).toBe('retrying');
  });

  it('a POST refused with 429 or the thread limit still waits and is sent again, attempts untouched', async () => {
    for (const err of [
      new AutotaskError('throttled', 'threshold exceeded', 429),
      new AutotaskError('thread-limit', 'Itgenatr005 thread threshold', 429),
    ]) {
      const h = harness({ answers: [err] });
      expect(await run(h, job(ticket))).toBe('waiting');
      expect(h.delayed[0]?.meta.attempts).toBe(0);
      expect(h.executions).toEqual(['claim', 'abandon']);
      expect(h.results).toHaveLength(0);
    }
  });

  it('a retried PATCH is never sent by two deliveries at once', async () => {
    const h = harness({ answers: [{ itemId: 1 }] });
    statefulExecutions(h);
    let answerFirst: (err: AutotaskError) => void = () => {};
    const send = h.deps.autotask.send;
    let calls = 0;
    h.deps.autotask = {
      ...h.deps.autotask,
      send: async (...args) => {
        if (calls++ > 0) return send(...args);
        h.sent.push(args[2]);
        throw await new Promise<AutotaskError>((resolve) => {
          answerFirst = resolve;
        });
      },
    };
    const body = job({ method: 'PATCH', path: '/Tickets', body: { id: 1, status: 5 } });
    const first = run(h, body);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // a second delivery of the message while the first is still waiting for Autotask: not sent
    expect(await run(h, body)).toBe('waiting');
    expect(h.sent).toHaveLength(1);
    answerFirst(new AutotaskError('server', 'Autotask 502', 502));
    expect(await first).toBe('retrying');
    const retry = h.delayed.find((d) => d.meta.attempts === 1);
    expect(await run(h, body, retry?.meta)).toBe('succeeded');
    expect(h.sent).toHaveLength(2);
  });
});
