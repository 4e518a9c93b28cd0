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
      { type: 'usage', total: 740, at: T0 },
      { type: 'usage', total: 760, at: T0 },
      { type: 'usage', total: 800, at: T0 },
      { type: 'usage', total: 899, at: T0 },
    ]);
    expect(state.state).toBe('awake');
    expect(alerts).toEqual(['warning']);
    const slept = decide(connection, state, { type: 'usage', total: 900, at: T0 }, T0 + 10 * 60_000);
    expect(slept.next.state).toBe('asleep');
    expect(slept.alerts.map((a) => a.kind)).toEqual(['sleep']);
    expect(slept.next.transitions[0]).toMatchObject({ from: 'awake', to: 'asleep', who: 'governor' });
  });

  it('resumes by itself only below the resume threshold (hysteresis), and re-arms the warning', () => {
    const { state, alerts } = run([
      { type: 'usage', total: 950, at: T0 },
      { type: 'usage', total: 800, at: T0 },
      { type: 'usage', total: 701, at: T0 },
      { type: 'usage', total: 699, at: T0 },
      { type: 'usage', total: 760, at: T0 },
    ]);
    expect(alerts).toEqual(['sleep', 'resume', 'warning']);
    expect(state.state).toBe('awake');
    expect(state.transitions.map((t) => `${t.to}:${t.who}`)).toEqual(['awake:automatic', 'asleep:governor']);
  });

  it('a manual wake at or above the critical ceiling goes back to sleep at once: "usage remains high"', () => {
    const asleep = run([{ type: 'usage', total: 960, at: T0 }]).state;
    const d = decide(connection, asleep, { type: 'wake', who: 'alice', total: 950, at: T0 }, T0 + 120_000);
    expect(d.next.state).toBe('asleep');
    expect(d.next.reason).toMatch(/usage remains high/);
    expect(d.alerts).toEqual([expect.objectContaining({ kind: 'usage-high', who: 'alice' })]);
    expect(d.next.transitions.slice(0, 2).map((t) => t.to)).toEqual(['asleep', 'awake']);
  });

  it('a manual wake below the critical ceiling overrides the sleep threshold until usage falls below resume', () => {
    const asleep = run([{ type: 'usage', total: 920, at: T0 }]).state;
    const woken = decide(connection, asleep, { type: 'wake', who: 'bob', total: 920, at: T0 }, T0 + 120_000);
    expect(woken.next.state).toBe('awake');
    expect(woken.alerts).toEqual([expect.objectContaining({ kind: 'resume', who: 'bob' })]);
    // still above the sleep threshold: stays awake (the operator decided), until the critical ceiling
    const still = decide(connection, woken.next, { type: 'usage', total: 930, at: T0 }, T0 + 180_000);
    expect(still.next.state).toBe('awake');
    const high = decide(connection, still.next, { type: 'usage', total: 950, at: T0 }, T0 + 240_000);
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
    const low = decide(connection, manual.next, { type: 'usage', total: 10, at: T0 }, T0 + 60_000);
    expect(low.next.state).toBe('asleep');
    const woken = decide(
      connection,
      low.next,
      { type: 'wake', who: 'carol', total: 10, at: T0 },
      T0 + 120_000,
    );
    expect(woken.next.state).toBe('awake');
  });

  it('sends at most one sleep e-mail per cool-down however often the connection flaps', () => {
    const events: Array<Parameters<typeof decide>[2]> = [];
    for (let i = 0; i < 10; i++)
      events.push({ type: 'usage', total: 950, at: T0 }, { type: 'usage', total: 100, at: T0 });
    const { state, alerts } = run(events); // one event a minute: 20 minutes
    expect(state.transitions.length).toBe(20);
    expect(alerts.filter((a) => a === 'sleep')).toHaveLength(2); // minute 0 and minute 16
    // only the resumes of e-mailed sleeps are e-mailed
    expect(alerts.filter((a) => a === 'resume')).toHaveLength(2);
    expect(SLEEP_MAIL_COOLDOWN_MS).toBe(15 * 60_000);
  });

  // Issue 21: wake links are bound to the sleep they were sent for.
  it('a sleep alert is bound to its episode (at = since), and marked manual when the sleep was by hand', () => {
    const auto = decide(connection, initialState(T0), { type: 'usage', total: 920, at: T0 }, T0 + 1000);
    expect(auto.alerts).toEqual([expect.objectContaining({ kind: 'sleep', at: auto.next.since })]);
    expect(auto.alerts[0]?.manual).toBeUndefined();
    const high = decide(connection, auto.next, { type: 'wake', who: 'alice', total: 960, at: T0 }, T0 + 2000);
    expect(high.alerts).toEqual([expect.objectContaining({ kind: 'usage-high', at: high.next.since })]);

    const manual = decide(
      connection,
      initialState(T0),
      { type: 'sleep', reason: 'maintenance', who: 'carol', manual: true },
      T0 + 1000,
    );
    expect(manual.alerts).toEqual([
      expect.objectContaining({ kind: 'sleep', manual: true, at: manual.next.since }),
    ]);
  });

  it('a wake for an episode wakes only that sleep, and never a sleep by hand', () => {
    const a = decide(connection, initialState(T0), { type: 'usage', total: 920, at: T0 }, T0 + 1000).next;
    const episodeA = a.since;
    // its own episode: wakes
    const own = decide(
      connection,
      a,
      { type: 'wake', who: 'link', total: 920, at: T0, episode: episodeA },
      T0 + 2000,
    );
    expect(own).toMatchObject({ changed: true, next: { state: 'awake' } });

    // a later sleep by hand: the link of A changes nothing
    const b = decide(
      connection,
      own.next,
      { type: 'sleep', reason: 'maintenance', who: 'carol', manual: true },
      T0 + 3000,
    ).next;
    const stale = decide(
      connection,
      b,
      { type: 'wake', who: 'link', total: 10, at: T0, episode: episodeA },
      T0 + 4000,
    );
    expect(stale).toEqual({ next: b, alerts: [], changed: false });

    // a later automatic sleep: neither
    const c = decide(connection, own.next, { type: 'usage', total: 960, at: T0 }, T0 + 3000).next;
    expect(c).toMatchObject({ state: 'asleep', manualSleep: false });
    expect(
      decide(connection, c, { type: 'wake', who: 'link', total: 10, at: T0, episode: episodeA }, T0 + 4000),
    ).toEqual({
      next: c,
      alerts: [],
      changed: false,
    });

    // the same sleep, made "by hand" afterwards: the link no longer wakes it
    const byHand = decide(
      connection,
      a,
      { type: 'sleep', reason: 'maintenance', who: 'carol', manual: true },
      T0 + 1500,
    ).next;
    expect(byHand).toMatchObject({ since: episodeA, manualSleep: true });
    expect(
      decide(
        connection,
        byHand,
        { type: 'wake', who: 'link', total: 10, at: T0, episode: episodeA },
        T0 + 2000,
      ).changed,
    ).toBe(false);
    // an operator's wake (no episode) still wakes it
    expect(
      decide(connection, byHand, { type: 'wake', who: 'carol', total: 10, at: T0 }, T0 + 2000).next.state,
    ).toBe('awake');
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
