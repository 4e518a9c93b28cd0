/**
 * Writes are sent once unless the job says otherwise (issue 22), on the local stack: a POST whose
 * answer was a 5xx or a reset connection may have been applied, so it is not sent again (unless the
 * job sets `retryUnsafeWrites`); PATCH/PUT/DELETE are retried. The simulator's injected faults take
 * over the answer before the write is applied, so the requests the simulator received and what it
 * stored tell the two apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCall } from '#local/autotask-sim/index.ts';
import { LOCAL_USER, type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import type { JobInput } from '#shared/jobs/schema.ts';
import { collector } from '../support/governor-helpers.ts';

let gov: LocalGovernor;
let inbox: ReturnType<typeof collector>;

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: { latencyScale: 0, baseLatencyMs: 5, seedTickets: 50 },
    worker: { batchSize: 5, maxConcurrency: 2 },
    syncIntervalMs: 0,
  });
  inbox = collector(gov);
});

afterAll(async () => {
  await gov?.stop();
});

/** Straight to the simulator (not through the governor), to look at what it stored. */
const simulator = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${gov.simulator.url}/atservicesrest/v1.0/${path}`, {
    method,
    headers: {
      ApiIntegrationCode: LOCAL_USER.integrationCode,
      UserName: LOCAL_USER.username,
      Secret: LOCAL_USER.secret,
      'Content-Type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(res.status).toBe(200);
  return res.json() as Promise<{ items: Array<Record<string, unknown>>; item: Record<string, unknown> }>;
};
const simulatorQuery = async (filter: unknown[]) =>
  (await simulator('POST', 'Tickets/query', { filter })).items;

const requests = (method: string, path: string, since: number): SimCall[] =>
  gov.simulator
    .calls({ sinceSeq: since })
    .filter((c) => c.method === method && c.path.toLowerCase().endsWith(path.toLowerCase()));

const lastSeq = () => gov.simulator.calls().at(-1)?.seq ?? 0;

const runJob = async (job: JobInput) => {
  await gov.sendJobs([job]);
  await inbox.until(() => inbox.results.has(job.jobId) || inbox.dead.has(job.jobId), 60_000);
  expect(inbox.dead.get(job.jobId)).toBeUndefined();
  const result = inbox.results.get(job.jobId);
  expect(result, `no result for ${job.jobId}`).toBeDefined();
  return result as NonNullable<typeof result>;
};

const newTicket = (jobId: string, title: string, extra: Partial<JobInput> = {}): JobInput => ({
  jobId,
  connectionId: gov.connectionId,
  request: { method: 'POST', path: '/Tickets', body: { title, companyID: 3 } },
  ...extra,
});

describe('writes are sent once unless the job says otherwise', () => {
  for (const kind of ['http500', 'reset'] as const) {
    it(`a POST /Tickets answered ${kind} once is sent exactly once and ends failed`, async () => {
      const since = lastSeq();
      const title = `Once after ${kind}`;
      gov.simulator.injectFault({ match: { method: 'POST', pathPrefix: '/Tickets' }, count: 1, kind });
      const result = await runJob(newTicket(`post-once-${kind}`, title));
      expect(result.status).toBe('failed');
      expect(result.calls).toBe(1);
      expect(result.attempts).toBe(1);
      expect(result.error?.kind).toBe(kind === 'http500' ? 'server' : 'network');
      expect(result.error?.message).toMatch(/may or may not have been applied, so it was not retried/);
      // give a (wrong) retry time to happen: the backoff of a first retry is 1-3 s
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(requests('POST', '/Tickets', since)).toHaveLength(1);
      expect(await simulatorQuery([{ op: 'eq', field: 'title', value: title }])).toHaveLength(0);
      await inbox.poll();
      expect(inbox.dead.size).toBe(0);
    }, 30_000);
  }

  it('the same POST with retryUnsafeWrites is sent twice and succeeds, creating one ticket', async () => {
    const since = lastSeq();
    const title = 'Retried on purpose';
    gov.simulator.injectFault({
      match: { method: 'POST', pathPrefix: '/Tickets' },
      count: 1,
      kind: 'http500',
    });
    const result = await runJob(newTicket('post-opt-in', title, { retryUnsafeWrites: true }));
    expect(result.status).toBe('succeeded');
    expect(result.attempts).toBe(2);
    const posts = requests('POST', '/Tickets', since);
    expect(posts.map((c) => c.outcome)).toEqual(['fault', 'ok']);
    const created = await simulatorQuery([{ op: 'eq', field: 'title', value: title }]);
    expect(created.map((t) => t.id)).toEqual([(result.response as { itemId: number }).itemId]);
  }, 30_000);

  for (const kind of ['http500', 'reset'] as const) {
    it(`a PATCH /Tickets answered ${kind} once is retried and applied once`, async () => {
      const since = lastSeq();
      const id = kind === 'http500' ? 11 : 12;
      const title = `Patched after ${kind}`;
      gov.simulator.injectFault({ match: { method: 'PATCH', pathPrefix: '/Tickets' }, count: 1, kind });
      const result = await runJob({
        jobId: `patch-${kind}`,
        connectionId: gov.connectionId,
        request: { method: 'PATCH', path: '/Tickets', body: { id, title, status: 5 } },
      });
      expect(result.status).toBe('succeeded');
      expect(result.attempts).toBe(2);
      const patches = requests('PATCH', '/Tickets', since);
      expect(patches).toHaveLength(2);
      expect(patches.filter((c) => c.outcome === 'ok' && c.status === 200)).toHaveLength(1);
      expect((await simulator('GET', `Tickets/${id}`)).item).toMatchObject({ id, title, status: 5 });
    }, 30_000);
  }

  it("the execution store lets a released write's retry claim it, and only one claim at a time", async () => {
    const { dynamo } = await import('#shared/aws/clients.ts');
    const { DynamoExecutionStore } = await import('#shared/jobs/executions.ts');
    const store = new DynamoExecutionStore(dynamo, gov.resources.tableName);
    const c = gov.connectionId;
    expect(await store.claim(c, 'exec-1')).toEqual({ state: 'claimed' });
    expect((await store.claim(c, 'exec-1')).state).toBe('in-flight');
    await store.abandon(c, 'exec-1');
    // released: of the retry and a redelivery racing for it, exactly one gets it
    const raced = await Promise.all([store.claim(c, 'exec-1'), store.claim(c, 'exec-1')]);
    expect(raced.map((r) => r.state).sort()).toEqual(['claimed', 'in-flight']);
    const result = { jobId: 'exec-1', connectionId: c, status: 'succeeded' } as never;
    await store.complete(c, 'exec-1', result);
    await store.abandon(c, 'exec-1'); // a late abandon does not undo a recorded result
    expect(await store.claim(c, 'exec-1')).toEqual({ state: 'done', result });
  });
});
