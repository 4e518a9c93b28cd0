import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import type { JobInput } from '#shared/jobs/schema.ts';
import { addConnection, collector } from '../support/governor-helpers.ts';
import { call, sleepMs, waitFor } from '../support/operators.ts';

// Jobs that meet a sleeping connection are parked, unpolled, and the wake hands them back: by hand
// (API), automatically (the sync's reading), and by the sync's sweep for a job parked too late.
const LIMIT = 600;
const WINDOW_SECONDS = 20;

let gov: LocalGovernor;
let token: string;

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, latencyScale: 0 },
    connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, criticalWhileAsleep: false },
  });
  await addConnection(gov, 'second-db', { limit: LIMIT, windowSeconds: WINDOW_SECONDS });
  token = await gov.createToken('parking-test');
});

afterAll(async () => {
  await gov?.stop();
});

const job = (jobId: string, connectionId = gov.connectionId): JobInput => ({
  jobId,
  connectionId,
  priority: 'normal',
  request: { method: 'GET', path: `/Companies/${(jobId.length % 7) + 1}` },
});

const depth = async (queue: 'parked' | 'delay') => {
  const out = await gov.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: gov.resources.queueUrls[queue],
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return Object.values(out.Attributes ?? {}).reduce((sum, v) => sum + Number(v), 0);
};

const ourCalls = (since: number, connectionFilter = /Companies/) =>
  gov.simulator
    .calls({ source: 'ours' })
    .filter((c) => c.at >= since && connectionFilter.test(c.path))
    .map((c) => c.at);

describe('parked jobs', () => {
  it('wait unpolled while asleep by hand, and the wake hands all 100 back within seconds', async () => {
    const path = `/connections/${gov.connectionId}`;
    expect(
      (await call(gov, 'POST', `${path}/sleep`, { token, body: { reason: 'maintenance' } })).status,
    ).toBe(200);
    const results = collector(gov);
    const jobs = Array.from({ length: 100 }, (_, i) => job(`parked-${i}`));
    const sentAt = Date.now();
    await gov.sendJobs(jobs);
    await waitFor(async () => ((await depth('parked')) === 100 ? true : undefined), 20_000);
    // nothing polls them: after 5 s more they are all still parked, none went through the delay
    // queue, and Autotask saw none of them
    await sleepMs(5_000);
    expect(await depth('parked')).toBe(100);
    expect(await depth('delay')).toBe(0);
    expect(ourCalls(sentAt)).toEqual([]);
    const status = (await call(gov, 'GET', path, { token })).json;
    expect(status.jobsWaiting.parkedQueue).toBe(100);

    const wokenAt = Date.now();
    const woken = await call(gov, 'POST', `${path}/wake`, { token });
    expect(woken.json).toMatchObject({ state: 'awake', changed: true });
    await results.until(() => jobs.every((j) => results.results.has(j.jobId)), 30_000);
    expect(jobs.filter((j) => results.results.get(j.jobId)?.status !== 'succeeded')).toEqual([]);
    const firstCall = Math.min(...ourCalls(wokenAt));
    expect(firstCall - wokenAt).toBeLessThanOrEqual(5_000);
    expect(ourCalls(sentAt)).toHaveLength(100);
    expect(await depth('parked')).toBe(0);
  });

  it("leave another connection's parked jobs alone, and the sync sweeps back one parked too late", async () => {
    const results = collector(gov);
    const second = '/connections/second-db';
    await call(gov, 'POST', `${second}/sleep`, { token, body: { reason: 'its own maintenance' } });
    const theirs = Array.from({ length: 5 }, (_, i) => job(`second-${i}`, 'second-db'));
    await gov.sendJobs(theirs);
    await waitFor(async () => ((await depth('parked')) === 5 ? true : undefined), 20_000);

    // a job parked for the awake main connection (as a worker does in the instant after a wake)
    const late = job('parked-too-late');
    await gov.sqs.send(
      new SendMessageCommand({
        QueueUrl: gov.resources.queueUrls.parked,
        MessageBody: JSON.stringify(late),
        MessageAttributes: { 'gov-connection': { DataType: 'String', StringValue: gov.connectionId } },
      }),
    );
    await results.until(() => results.results.has(late.jobId), 15_000);
    expect(results.results.get(late.jobId)?.status).toBe('succeeded');
    // the sweeps since have left the sleeping connection's five where they were
    await sleepMs(2_000);
    await results.poll();
    expect(theirs.filter((j) => results.results.has(j.jobId))).toEqual([]);
    expect(await depth('parked')).toBe(5);

    const wokenAt = Date.now();
    await call(gov, 'POST', `${second}/wake`, { token });
    await results.until(() => theirs.every((j) => results.results.has(j.jobId)), 15_000);
    expect(theirs.map((j) => results.results.get(j.jobId)?.status)).toEqual(Array(5).fill('succeeded'));
    expect(
      Math.max(...theirs.map((j) => results.results.get(j.jobId)?.receivedAt ?? 0)) - wokenAt,
    ).toBeLessThan(10_000);
  });

  it('are handed back by the automatic resume, read when the window is expected to have room', async () => {
    const results = collector(gov);
    const path = `/connections/${gov.connectionId}`;
    // a neighbour fills the window past the sleep threshold (90 %)
    const spikeAt = Date.now();
    gov.simulator.addOtherCalls(Math.ceil(LIMIT * 0.95) - gov.simulator.windowTotal());
    await waitFor(
      async () => ((await call(gov, 'GET', path, { token })).json.state === 'asleep' ? true : undefined),
      15_000,
    );
    const jobs = Array.from({ length: 20 }, (_, i) => job(`auto-${i}`));
    await gov.sendJobs(jobs);
    await waitFor(async () => ((await depth('parked')) === 20 ? true : undefined), 15_000);
    await results.until(
      () => jobs.every((j) => results.results.has(j.jobId)),
      WINDOW_SECONDS * 1000 + 20_000,
    );
    expect(jobs.filter((j) => results.results.get(j.jobId)?.status !== 'succeeded')).toEqual([]);
    const status = (await call(gov, 'GET', path, { token })).json;
    const resumed = status.transitions.find((t: { to: string; who: string }) => t.to === 'awake');
    expect(resumed).toMatchObject({ who: 'automatic' });
    // the spike leaves Autotask's window WINDOW_SECONDS after it came; the jobs ran soon after the
    // resume that followed, not a look-again period later
    const resumedAt = Date.parse(resumed.at);
    expect(resumedAt).toBeGreaterThanOrEqual(spikeAt);
    const firstCall = Math.min(...ourCalls(resumedAt));
    expect(firstCall - resumedAt).toBeLessThanOrEqual(3_000);
    expect(firstCall - (spikeAt + WINDOW_SECONDS * 1000)).toBeLessThanOrEqual(6_000);
  }, 90_000);
});
