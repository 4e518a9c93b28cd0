import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalGovernor } from '#local/governor.ts';
import { call, mails, quietConnection, sleepMs, startOperatorGovernor } from '../support/operators.ts';

// Issue 4, acceptance 5: usage oscillating around the sleep threshold for 10 windows sends at most
// 2 sleep e-mails (one per 15-minute cool-down), although the connection really sleeps and wakes.
const LIMIT = 6000;
const WINDOW_SECONDS = 6;

let gov: LocalGovernor;
let token: string;

beforeAll(async () => {
  ({ gov, token } = await startOperatorGovernor('flap', quietConnection(LIMIT, WINDOW_SECONDS)));
});

afterAll(async () => {
  await gov?.stop();
});

describe('a flapping connection', () => {
  it('sleeps and wakes with the usage, but e-mails its sleep at most twice in 10 windows', async () => {
    // other integrations burst to 97 % of the cap every other window: 5 high windows, 5 quiet ones
    for (let window = 0; window < 10; window++) {
      if (window % 2 === 0) gov.simulator.addOtherCalls(Math.round(LIMIT * 0.97));
      await sleepMs(WINDOW_SECONDS * 1000);
    }
    const status = (await call(gov, 'GET', `/connections/${gov.connectionId}`, { token })).json;
    const sleeps = status.transitions.filter((t: { to: string }) => t.to === 'asleep');
    expect(sleeps.length).toBeGreaterThanOrEqual(3); // it really flapped
    const sleepMails = (await mails(gov)).filter((m) => /: asleep/.test(m.subject));
    expect(sleepMails.length).toBeGreaterThanOrEqual(1);
    expect(sleepMails.length).toBeLessThanOrEqual(2);
    // the resumes of sleeps that were not e-mailed are not e-mailed either
    expect((await mails(gov)).filter((m) => /resumed/.test(m.subject)).length).toBeLessThanOrEqual(
      sleepMails.length,
    );
  }, 120_000);
});
