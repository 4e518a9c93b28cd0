import { describe, expect, it } from 'vitest';
import {
  type ConnectionState,
  decide,
  initialState,
  SLEEP_MAIL_COOLDOWN_MS,
} from '#shared/connections/state.ts';

const connection = {
  limit: 1000,
  ceilings: { bulk: 0.6, normal: 0.8, critical: 0.95 },
  thresholds: { warn: 0.75, sleep: 0.9, resume: 0.7 },
};
const T0 = 1_000_000_000;

const run = (events: Array<Parameters<typeof decide>[2]>, start: ConnectionState = initialState(T0)) => {
  let state = start;
  const alerts: string[] = [];
  events.forEach((event, i) => {
    const d = decide(connection, state, event, T0 + i * 60_000);
    state = d.next;
    alerts.push(...d.alerts.map((a) => a.kind));
  });
  return { state, alerts };
};

describe('connection state rules', () => {
  it('sleeps at the sleep threshold, not below, with one warning per episode on the way', () => {
    const { state, alerts } = run([
      { type: 'usage', total: 740 },
      { type: 'usage', total: 760 },
      { type: 'usage', total: 800 },
      { type: 'usage', total: 899 },
    ]);
    expect(state.state).toBe('awake');
    expect(alerts).toEqual(['warning']);
    const slept = decide(connection, state, { type: 'usage', total: 900 }, T0 + 10 * 60_000);
    expect(slept.next.state).toBe('asleep');
    expect(slept.alerts.map((a) => a.kind)).toEqual(['sleep']);
    expect(slept.next.transitions[0]).toMatchObject({ from: 'awake', to: 'asleep', who: 'governor' });
  });

  it('resumes by itself only below the resume threshold (hysteresis), and re-arms the warning', () => {
    const { state, alerts } = run([
      { type: 'usage', total: 950 },
      { type: 'usage', total: 800 },
      { type: 'usage', total: 701 },
      { type: 'usage', total: 699 },
      { type: 'usage', total: 760 },
    ]);
    expect(alerts).toEqual(['sleep', 'resume', 'warning']);
    expect(state.state).toBe('awake');
    expect(state.transitions.map((t) => `${t.to}:${t.who}`)).toEqual(['awake:automatic', 'asleep:governor']);
  });

  it('a manual wake at or above the critical ceiling goes back to sleep at once: "usage remains high"', () => {
    const asleep = run([{ type: 'usage', total: 960 }]).state;
    const d = decide(connection, asleep, { type: 'wake', who: 'alice', total: 950 }, T0 + 120_000);
    expect(d.next.state).toBe('asleep');
    expect(d.next.reason).toMatch(/usage remains high/);
    expect(d.alerts).toEqual([expect.objectContaining({ kind: 'usage-high', who: 'alice' })]);
    expect(d.next.transitions.slice(0, 2).map((t) => t.to)).toEqual(['asleep', 'awake']);
  });

  it('a manual wake below the critical ceiling overrides the sleep threshold until usage falls below resume', () => {
    const asleep = run([{ type: 'usage', total: 920 }]).state;
    const woken = decide(connection, asleep, { type: 'wake', who: 'bob', total: 920 }, T0 + 120_000);
    expect(woken.next.state).toBe('awake');
    expect(woken.alerts).toEqual([expect.objectContaining({ kind: 'resume', who: 'bob' })]);
    // still above the sleep threshold: stays awake (the operator decided), until the critical ceiling
    const still = decide(connection, woken.next, { type: 'usage', total: 930 }, T0 + 180_000);
    expect(still.next.state).toBe('awake');
    const high = decide(connection, still.next, { type: 'usage', total: 950 }, T0 + 240_000);
    expect(high.next.state).toBe('asleep');
    expect(high.next.reason).toMatch(/usage remains high/);
  });

  it('a sleep by hand is only ended by hand', () => {
    const manual = decide(
      connection,
      initialState(T0),
      { type: 'sleep', reason: 'maintenance', who: 'carol', manual: true },
      T0,
    );
    expect(manual.next.state).toBe('asleep');
    const low = decide(connection, manual.next, { type: 'usage', total: 10 }, T0 + 60_000);
    expect(low.next.state).toBe('asleep');
    const woken = decide(connection, low.next, { type: 'wake', who: 'carol', total: 10 }, T0 + 120_000);
    expect(woken.next.state).toBe('awake');
  });

  it('sends at most one sleep e-mail per cool-down however often the connection flaps', () => {
    const events: Array<Parameters<typeof decide>[2]> = [];
    for (let i = 0; i < 10; i++) events.push({ type: 'usage', total: 950 }, { type: 'usage', total: 100 });
    const { state, alerts } = run(events); // one event a minute: 20 minutes
    expect(state.transitions.length).toBe(20);
    expect(alerts.filter((a) => a === 'sleep')).toHaveLength(2); // minute 0 and minute 16
    // only the resumes of e-mailed sleeps are e-mailed
    expect(alerts.filter((a) => a === 'resume')).toHaveLength(2);
    expect(SLEEP_MAIL_COOLDOWN_MS).toBe(15 * 60_000);
  });

  it('a 429 sleeps an awake connection once: the second racer finds it asleep', () => {
    const first = decide(
      connection,
      initialState(T0),
      { type: 'sleep', reason: '429', who: 'worker', manual: false },
      T0,
    );
    const second = decide(
      connection,
      first.next,
      { type: 'sleep', reason: '429', who: 'worker', manual: false },
      T0,
    );
    expect(first.changed).toBe(true);
    expect(second.changed).toBe(false);
    expect(second.alerts).toEqual([]);
  });
});
