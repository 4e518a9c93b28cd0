import type { AlertKind } from '#shared/alerts/templates.ts';
import { type Connection, ceilingFor } from '#shared/connections/model.ts';

/**
 * The connection's state machine (README "Sleep and wake-up"), as a pure function of the stored
 * state and one event, so every rule is testable without DynamoDB:
 * - awake -> asleep when the database total reaches the sleep threshold, on a 429, or by hand;
 * - asleep -> awake when the total falls below the resume threshold (not after a sleep by hand), or by hand;
 *   a wake link wakes only the sleep (episode) it was sent for, and never a sleep by hand;
 * - a manual wake with the total at or above the critical ceiling goes back to sleep at once
 *   ("usage remains high"); otherwise it overrides the sleep threshold until the total falls below
 *   the resume threshold or climbs to the critical ceiling;
 * - one warning per episode at the warn threshold, re-armed below the resume threshold;
 * - at most one sleep e-mail per cool-down, however often the connection flaps.
 */
export type ConnectionStatus = 'awake' | 'asleep';

export interface Transition {
  at: number;
  from: ConnectionStatus;
  to: ConnectionStatus;
  reason: string;
  who: string;
  /** The database total the decision was based on and when Autotask reported it (usage and wake events). */
  reading?: Reading;
}

/** A database total as Autotask reported it (ThresholdInformation), plus our own calls since. */
export interface Reading {
  total: number;
  at: number;
}

/** An e-mail decided by a transition; `facts` are filled in by whoever sends it. */
export interface PendingAlert {
  kind: AlertKind;
  reason: string;
  who?: string;
  /** For `sleep` and `usage-high` this is also the new state's `since`: the episode a wake link is bound to. */
  at: number;
  /** A sleep by hand: only an operator wakes it, so its e-mail carries no wake link. */
  manual?: boolean;
}

export interface ConnectionState {
  state: ConnectionStatus;
  since: number;
  reason: string;
  /** Put to sleep by an operator: only an operator wakes it. */
  manualSleep: boolean;
  /** Woken by an operator: the sleep threshold is overridden until usage falls below the resume threshold. */
  manualWake: boolean;
  /** The warning e-mail of this episode went out. */
  warned: boolean;
  lastSleepMailAt: number;
  /** This sleep's e-mail went out: its automatic resume is e-mailed too (not when the cool-down held it back). */
  sleepMailed: boolean;
  /** Newest first, at most MAX_TRANSITIONS. */
  transitions: Transition[];
  /** E-mails decided by a function without a mailer (the worker), sent by the next sync. */
  outbox: PendingAlert[];
}

export type StateEvent =
  | ({ type: 'usage' } & Reading)
  | { type: 'sleep'; reason: string; who: string; manual: boolean }
  | {
      type: 'wake';
      reason?: string;
      who: string;
      total: number;
      /** When the reading behind `total` was taken. */
      at: number;
      /** A wake link's: wake only the sleep that began at this `since`, and never a sleep by hand. */
      episode?: number;
    };

export interface Decision {
  next: ConnectionState;
  alerts: PendingAlert[];
  /** The event changed the state (awake <-> asleep) at least once. */
  changed: boolean;
}

export const MAX_TRANSITIONS = 20;
export const SLEEP_MAIL_COOLDOWN_MS = 15 * 60_000;

export const initialState = (now = 0): ConnectionState => ({
  state: 'awake',
  since: now,
  reason: 'created',
  manualSleep: false,
  manualWake: false,
  warned: false,
  lastSleepMailAt: 0,
  sleepMailed: false,
  transitions: [],
  outbox: [],
});

const pct = (fraction: number) => `${Math.round(fraction * 100)} %`;

export const decide = (
  connection: Pick<Connection, 'limit' | 'ceilings' | 'thresholds'>,
  current: ConnectionState,
  event: StateEvent,
  now: number,
  cooldownMs = SLEEP_MAIL_COOLDOWN_MS,
): Decision => {
  let next: ConnectionState = {
    ...current,
    transitions: [...current.transitions],
    outbox: [...current.outbox],
  };
  const alerts: PendingAlert[] = [];
  let changed = false;
  const { limit, thresholds } = connection;
  const critical = ceilingFor(connection, 'critical');

  const reading = event.type === 'sleep' ? undefined : { total: event.total, at: event.at };
  const move = (to: ConnectionStatus, reason: string, who: string) => {
    const from = next.state;
    const transition: Transition = { at: now, from, to, reason, who, ...(reading ? { reading } : {}) };
    next = {
      ...next,
      state: to,
      since: now,
      reason,
      transitions: [transition, ...next.transitions].slice(0, MAX_TRANSITIONS),
    };
    changed = true;
  };
  const sleepMail = (kind: 'sleep' | 'usage-high', reason: string, who?: string, manual = false) => {
    // "usage remains high" answers an operator's wake: it is always sent. Sleep mails are rationed.
    if (kind === 'sleep') {
      next.sleepMailed = now - next.lastSleepMailAt >= cooldownMs;
      if (!next.sleepMailed) return;
      next.lastSleepMailAt = now;
    }
    alerts.push({ kind, reason, at: now, ...(who ? { who } : {}), ...(manual ? { manual } : {}) });
  };

  switch (event.type) {
    case 'sleep': {
      if (next.state === 'asleep') {
        // a manual sleep of a sleeping connection makes it stay asleep until woken by hand
        if (event.manual && !next.manualSleep) next = { ...next, manualSleep: true, reason: event.reason };
        break;
      }
      move('asleep', event.reason, event.who);
      next = { ...next, manualSleep: event.manual, manualWake: false };
      sleepMail('sleep', event.reason, event.who, event.manual);
      break;
    }
    case 'wake': {
      if (next.state === 'awake') break; // nothing to wake
      // a wake link wakes the sleep it was sent for, not a later one, and never a sleep by hand
      if (event.episode !== undefined && (next.since !== event.episode || next.manualSleep)) break;
      const why = `woken by ${event.who}${event.reason ? `: ${event.reason}` : ''}`;
      move('awake', why, event.who);
      next = { ...next, manualSleep: false, manualWake: true };
      if (event.total >= critical) {
        const reason = `usage remains high: ${event.total} of ${limit} requests in the window, at or above the critical ceiling (${critical})`;
        move('asleep', reason, 'governor');
        next = { ...next, manualWake: false };
        alerts.push({ kind: 'usage-high', reason, who: event.who, at: now });
      } else {
        alerts.push({ kind: 'resume', reason: why, who: event.who, at: now });
      }
      break;
    }
    case 'usage': {
      const total = event.total;
      if (next.state === 'asleep') {
        if (!next.manualSleep && total < limit * thresholds.resume) {
          const reason = `usage fell to ${pct(total / limit)} of the cap, below the resume threshold (${pct(thresholds.resume)})`;
          move('awake', reason, 'automatic');
          // a flapping connection whose sleep was not e-mailed does not e-mail its resume either
          if (next.sleepMailed) alerts.push({ kind: 'resume', reason, who: 'automatic', at: now });
        }
      } else if (next.manualWake) {
        if (total >= critical) {
          const reason = `usage remains high: ${total} of ${limit} requests in the window reached the critical ceiling (${critical}) after a manual wake`;
          move('asleep', reason, 'governor');
          next = { ...next, manualWake: false };
          sleepMail('sleep', reason);
        } else if (total < limit * thresholds.resume) {
          next = { ...next, manualWake: false };
        }
      } else if (total >= limit * thresholds.sleep) {
        const reason = `the database total reached ${pct(total / limit)} of the cap (${total} of ${limit}), at or above the sleep threshold (${pct(thresholds.sleep)})`;
        move('asleep', reason, 'governor');
        next = { ...next, manualSleep: false };
        sleepMail('sleep', reason);
      }
      if (total >= limit * thresholds.warn && !next.warned) {
        next = { ...next, warned: true };
        // the sleep e-mail of this same reading says more than the warning would
        if (!changed)
          alerts.push({
            kind: 'warning',
            reason: `the database total reached ${pct(total / limit)} of the cap (${total} of ${limit}), at or above the warning threshold (${pct(thresholds.warn)})`,
            at: now,
          });
      } else if (total < limit * thresholds.resume && next.warned) {
        next = { ...next, warned: false };
      }
      break;
    }
  }
  return { next, alerts, changed };
};

/** When the state would change nothing, nothing is written. */
export const sameState = (a: ConnectionState, b: ConnectionState): boolean =>
  JSON.stringify(a) === JSON.stringify(b);
