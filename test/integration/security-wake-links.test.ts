import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGovernor } from '#local/governor.ts';
import { call, mails, startOperatorGovernor, waitFor } from '../support/operators.ts';

// Issue 21 (security review, low findings 2-4), over the local stack's HTTP API:
// - a wake link wakes the sleep it was e-mailed for, not a later one, and never a sleep by hand;
// - the wake-link pages may not be framed by another site;
// - opening a used link says it was used, and when, without changing anything.
const LIMIT = 6000; // per 60 s (startOperatorGovernor's default connection); critical ceiling 95 % = 5,700

let gov: LocalGovernor;
let token: string;
/** The path of the wake link e-mailed for the first (automatic) sleep. */
let linkA: string;

beforeAll(async () => {
  ({ gov, token } = await startOperatorGovernor('ops'));
});

afterAll(async () => {
  await gov?.stop();
});

const status = async () => (await call(gov, 'GET', `/connections/${gov.connectionId}`, { token })).json;

describe('wake links after a security review (issue 21)', () => {
  it('an unused link of an earlier sleep does not wake a later sleep by hand (409), and nothing changes', async () => {
    // sleep A: other integrations use 92 % of the cap (above the sleep threshold, below critical)
    gov.simulator.addOtherCalls(Math.round(LIMIT * 0.92));
    await gov.syncNow();
    const mail = await waitFor(
      async () => (await mails(gov)).find((m) => /: asleep/.test(m.subject)),
      10_000,
    );
    const link = /(http:\/\/127\.0\.0\.1:\d+\/wake-links\/[A-Za-z0-9_.~-]+)/.exec(mail.text)?.[1];
    expect(link).toBeDefined();
    linkA = (link as string).slice(gov.apiUrl.length);

    // an operator wakes it with the API (the link stays unused), then puts it to sleep by hand: B
    expect((await call(gov, 'POST', `/connections/${gov.connectionId}/wake`, { token })).status).toBe(200);
    const slept = await call(gov, 'POST', `/connections/${gov.connectionId}/sleep`, {
      token,
      body: { reason: 'do not wake: database maintenance' },
    });
    expect(slept.status).toBe(200);
    const before = await status();
    expect(before).toMatchObject({ state: 'asleep', manualSleep: true });

    const confirmed = await call(gov, 'POST', linkA);
    expect(confirmed.status).toBe(409);
    expect(confirmed.text).toMatch(/put to sleep by hand/);
    expect(confirmed.text).toContain(`POST /connections/${gov.connectionId}/wake`);
    const opened = await call(gov, 'GET', linkA);
    expect(opened.status).toBe(409);
    expect(opened.text).not.toMatch(/<form/);

    const after = await status();
    expect(after).toMatchObject({ state: 'asleep', manualSleep: true, since: before.since });
    expect(after.transitions).toEqual(before.transitions);
  }, 60_000);

  it('an unused link of an earlier sleep does not wake a later automatic sleep either', async () => {
    // the operator wakes B; the old link has nothing to wake now and says so (no form, nothing used)
    expect((await call(gov, 'POST', `/connections/${gov.connectionId}/wake`, { token })).status).toBe(200);
    const awake = await call(gov, 'GET', linkA);
    expect(awake.status).toBe(200);
    expect(awake.text).toMatch(/already awake/);
    expect(awake.text).not.toMatch(/<form/);
    const noop = await call(gov, 'POST', linkA);
    expect(noop.status).toBe(200);
    expect(noop.text).toMatch(/already awake/);

    // sleep C: usage climbs to the critical ceiling after the manual wake
    gov.simulator.addOtherCalls(Math.round(LIMIT * 0.05));
    await gov.syncNow();
    await waitFor(async () => (await status()).state === 'asleep', 15_000);
    const before = await status();
    expect(before.manualSleep).toBe(false);

    const confirmed = await call(gov, 'POST', linkA);
    expect(confirmed.status).toBe(409);
    expect(confirmed.text).toMatch(/sent for an earlier sleep/);
    const after = await status();
    expect(after).toMatchObject({ state: 'asleep', since: before.since });
    expect(after.transitions).toEqual(before.transitions);
  }, 60_000);

  it('the wake-link pages may not be framed', async () => {
    for (const path of [linkA, '/wake-links/not-a-token']) {
      for (const method of ['GET', 'POST']) {
        const page = await call(gov, method, path);
        expect(page.headers.get('content-type')).toMatch(/text\/html/);
        expect(page.headers.get('content-security-policy')).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
        expect(page.headers.get('x-frame-options')).toBe('DENY');
      }
    }
  });

  it('opening a used link says it was used, and when, with 410, and changes nothing', async () => {
    // asleep with usage at or above the critical ceiling, whatever the tests before left
    const need = Math.ceil(LIMIT * 0.97) - (await status()).usage.total;
    if (need > 0) gov.simulator.addOtherCalls(need);
    await gov.syncNow();
    await waitFor(async () => (await status()).state === 'asleep', 15_000);
    // a "usage remains high" e-mail always goes out (no cool-down): a link for the current sleep
    const before = (await mails(gov)).length;
    const woken = await call(gov, 'POST', `/connections/${gov.connectionId}/wake`, { token });
    expect(woken.status).toBe(409);
    const mail = await waitFor(
      async () => (await mails(gov)).slice(before).find((m) => /usage remains high/.test(m.subject)),
      10_000,
    );
    const link = /(http:\/\/127\.0\.0\.1:\d+\/wake-links\/[A-Za-z0-9_.~-]+)/.exec(mail.text)?.[1];
    expect(link).toBeDefined();
    const path = (link as string).slice(gov.apiUrl.length);

    expect((await call(gov, 'GET', path)).text).toMatch(/<form method="post"/);
    const usedAt = Date.now();
    const used = await call(gov, 'POST', path); // usage is still high: it wakes and falls asleep again
    expect(used.status).toBe(409);
    expect(used.text).toMatch(/asleep again/);
    const state = await status();

    const opened = await call(gov, 'GET', path);
    expect(opened.status).toBe(410);
    expect(opened.text).not.toMatch(/<form/);
    const when = /already used, at (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)/.exec(opened.text)?.[1];
    expect(when).toBeDefined();
    expect(Math.abs(Date.parse(when as string) - usedAt)).toBeLessThan(5_000);
    const pick = ({ state: s, since, reason, manualSleep, transitions }: typeof state) => ({
      s,
      since,
      reason,
      manualSleep,
      transitions,
    });
    expect(pick(await status())).toEqual(pick(state));
    expect((await call(gov, 'POST', path)).status).toBe(410);
  }, 60_000);
});
