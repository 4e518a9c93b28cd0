import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGovernor, startLocalGovernor } from '#local/governor.ts';
import type { JobInput } from '#shared/jobs/schema.ts';
import { collector } from '../support/governor-helpers.ts';
import { call, mails, sleepMs, waitFor } from '../support/operators.ts';

// Issue 4, acceptance 2 and 3: the wake-up endpoint's auth, waiting jobs resuming within 30 s, the
// "resumed manually" e-mail, and a wake refused because usage remains high.
const LIMIT = 6000;
const WINDOW_SECONDS = 60;

let gov: LocalGovernor;
let token: string;

beforeAll(async () => {
  gov = await startLocalGovernor({
    simulator: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, latencyScale: 0 },
    connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, alertRecipients: ['ops@msp.example'] },
  });
  token = await gov.createToken('alice');
});

afterAll(async () => {
  await gov?.stop();
});

const path = () => `/connections/${gov.connectionId}`;
const job = (jobId: string, priority: JobInput['priority']): JobInput => ({
  jobId,
  connectionId: gov.connectionId,
  priority,
  request: { method: 'GET', path: `/Tickets/${(jobId.length % 9) + 1}` },
});

describe('the wake-up endpoint', () => {
  it('needs a valid token, wakes the connection, and waiting jobs resume within 30 s', async () => {
    // ten operators race to put it to sleep: one transition, one e-mail
    const slept = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(gov, 'POST', `${path()}/sleep`, { token, body: { reason: 'maintenance' } }),
      ),
    );
    expect(slept.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(slept.every((a) => a.json.state === 'asleep')).toBe(true);
    expect(slept.filter((a) => a.json.changed)).toHaveLength(1);
    expect((await mails(gov)).filter((m) => /: asleep/.test(m.subject))).toHaveLength(1);

    const results = collector(gov);
    const waiting = [1, 2, 3, 4].flatMap((i) => [job(`normal-${i}`, 'normal'), job(`bulk-${i}`, 'bulk')]);
    await gov.sendJobs([...waiting, job('critical-1', 'critical'), job('critical-2', 'critical')]);
    await results.until(() => results.results.has('critical-1') && results.results.has('critical-2'), 15_000);
    expect(results.results.get('critical-1')?.status).toBe('succeeded');
    await sleepMs(3000);
    await results.poll();
    expect(waiting.filter((j) => results.results.has(j.jobId))).toEqual([]);

    const noToken = await call(gov, 'POST', `${path()}/wake`);
    expect(noToken.status).toBe(401);
    expect(noToken.json.error.message).toEqual(expect.any(String));
    const wrong = await call(gov, 'POST', `${path()}/wake`, { token: `${token.slice(0, -2)}xx` });
    expect(wrong.status).toBe(403);
    const bogus = await call(gov, 'POST', `${path()}/wake`, { token: 'agt_nosuchtoken0_abc' });
    expect(bogus.status).toBe(403);
    expect((await call(gov, 'GET', path(), { token })).json.state).toBe('asleep');

    const woken = await call(gov, 'POST', `${path()}/wake`, { token, body: { reason: 'maintenance over' } });
    const wokenAt = Date.now();
    expect(woken.status).toBe(200);
    expect(woken.json).toMatchObject({ state: 'awake', changed: true });

    await results.until(() => waiting.every((j) => results.results.has(j.jobId)), 40_000);
    const resumedIn =
      Math.max(...waiting.map((j) => results.results.get(j.jobId)?.receivedAt ?? Infinity)) - wokenAt;
    expect(resumedIn).toBeLessThanOrEqual(30_000);
    for (const j of waiting) expect(results.results.get(j.jobId)?.status).toBe('succeeded');

    const status = (await call(gov, 'GET', path(), { token })).json;
    expect(status.transitions).toHaveLength(2);
    expect(status.transitions.slice(0, 2)).toEqual([
      expect.objectContaining({ from: 'asleep', to: 'awake', who: 'alice' }),
      expect.objectContaining({ from: 'awake', to: 'asleep', who: 'alice' }),
    ]);
    const resumed = (await mails(gov)).filter((m) => /resumed/i.test(m.subject));
    expect(resumed).toHaveLength(1);
    expect(resumed[0]?.subject).toMatch(/manually/i);
    expect(resumed[0]?.text).toContain('alice');
    expect(resumed[0]?.html).toContain('alice');
  }, 90_000);

  it('a wake while the total is at or above the critical ceiling goes back to sleep: "usage remains high"', async () => {
    gov.simulator.addOtherCalls(5800); // 97 % of the cap: the next sync puts it to sleep by itself
    await waitFor(async () => (await call(gov, 'GET', path(), { token })).json.state === 'asleep', 15_000);
    await waitFor(
      async () => (await call(gov, 'GET', path(), { token })).json.usage.total >= LIMIT * 0.95,
      15_000,
    );

    const before = (await mails(gov)).length;
    const woken = await call(gov, 'POST', `${path()}/wake`, { token });
    expect(woken.status).toBe(409);
    expect(woken.json.state).toBe('asleep');
    expect(woken.json.error.message).toMatch(/usage remains high/);
    const status = (await call(gov, 'GET', path(), { token })).json;
    expect(status.state).toBe('asleep');
    expect(status.reason).toMatch(/usage remains high/);

    const after = (await mails(gov)).slice(before);
    const high = after.filter((m) => /usage remains high/i.test(m.subject));
    expect(high).toHaveLength(1);
    expect(high[0]?.text).toMatch(/usage remains high/);
    expect(high[0]?.text).toContain('alice');
  }, 60_000);
});
