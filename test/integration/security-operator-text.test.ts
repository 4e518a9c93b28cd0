import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGovernor } from '#local/governor.ts';
import { call, mails, sleepMs, startOperatorGovernor, waitFor } from '../support/operators.ts';

// Issue 21 (security review, low findings 1 and 2), over the local stack's HTTP API:
// - the reason of a sleep or wake is one line: CR/LF could inject lines ("Wake it now: https://evil")
//   into the plain-text alert e-mail;
// - a sleep by hand is e-mailed without a wake link: only an operator ends it.
let gov: LocalGovernor;
let token: string;

beforeAll(async () => {
  ({ gov, token } = await startOperatorGovernor('ops'));
});

afterAll(async () => {
  await gov?.stop();
});

const path = () => `/connections/${gov.connectionId}`;
const status = async () => (await call(gov, 'GET', path(), { token })).json;
const INJECTED = [
  'maintenance\nWake it now:\nhttps://evil.example/wake-links/x',
  'maintenance\r\nBcc: someone@evil.example',
  'maintenance\u2028Wake it now: https://evil.example',
  'tab\there',
];

describe('operator text in alert e-mails (issue 21)', () => {
  it('a sleep or wake reason with a line break or other control character is refused (400), and nothing changes', async () => {
    for (const reason of INJECTED) {
      const slept = await call(gov, 'POST', `${path()}/sleep`, { token, body: { reason } });
      expect(slept.status, JSON.stringify(reason)).toBe(400);
      expect(slept.json.error).toMatchObject({
        code: 'invalid-body',
        message: expect.stringMatching(/one line/),
      });
    }
    expect(await status()).toMatchObject({ state: 'awake', transitions: [] });

    expect(
      (await call(gov, 'POST', `${path()}/sleep`, { token, body: { reason: 'maintenance' } })).status,
    ).toBe(200);
    const asleep = await status();
    for (const reason of INJECTED) {
      const woken = await call(gov, 'POST', `${path()}/wake`, { token, body: { reason } });
      expect(woken.status, JSON.stringify(reason)).toBe(400);
      expect(woken.json.error.code).toBe('invalid-body');
    }
    const after = await status();
    expect(after).toMatchObject({ state: 'asleep', since: asleep.since, reason: asleep.reason });
    expect(after.transitions).toEqual(asleep.transitions);
    await sleepMs(500);
    expect((await mails(gov)).map((m) => m.subject)).toEqual([
      `[autotask-governor] ${gov.connectionId}: asleep`,
    ]);
    expect((await mails(gov))[0]?.text).not.toMatch(/evil/);
  }, 60_000);

  it('a sleep by hand is e-mailed without a wake link, saying only an operator wakes it', async () => {
    const mail = await waitFor(
      async () => (await mails(gov)).find((m) => /: asleep/.test(m.subject)),
      10_000,
    );
    for (const body of [mail.text, mail.html]) {
      expect(body).not.toMatch(/\/wake-links\//);
      expect(body).not.toMatch(/Wake it now/);
      expect(body).toMatch(/put to sleep by hand/);
      expect(body).toContain(`POST /connections/${gov.connectionId}/wake`);
    }
    expect(mail.text).toMatch(/^Reason: +"put to sleep by ops: maintenance"$/m);
    expect(mail.text).not.toMatch(/Expected to resume/); // only an operator ends it
  });
});
