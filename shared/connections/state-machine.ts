import type { Mailer } from '#shared/alerts/mailer.ts';
import { type AlertFacts, renderAlert } from '#shared/alerts/templates.ts';
import type { WakeLinks } from '#shared/auth/wake-links.ts';
import { hourOf, usageOf } from '#shared/budget/item.ts';
import type { BudgetStore, Usage } from '#shared/budget/store.ts';
import {
  type BudgetSnapshot,
  bucketOf,
  bucketStart,
  geometry,
  nextRoom,
  systemAt,
} from '#shared/budget/window.ts';
import type { Connection } from '#shared/connections/model.ts';
import {
  type ConnectionState,
  decide,
  type PendingAlert,
  type Reading,
  type StateEvent,
  sameState,
} from '#shared/connections/state.ts';
import type { StateStore } from '#shared/connections/state-store.ts';
import { errorMessage } from '#shared/errors.ts';
import type { Logger } from '#shared/observability/logger.ts';
import { emitMetric } from '#shared/observability/metrics.ts';
import type { LastReading } from '#shared/usage/threshold-sync.ts';

export interface StateMachineDeps {
  store: StateStore;
  budget: Pick<BudgetStore, 'setAsleep' | 'snapshot'>;
  /** Absent in the worker (no SES in its bundle): its e-mails wait in the outbox for the next sync. */
  mailer?: Mailer;
  /** Signs the wake link of sleep e-mails (absent: the e-mail has no link). */
  wakeLinks?: Pick<WakeLinks, 'sign'>;
  /** The operators' API base URL, for wake links and the status link. */
  publicApiUrl?: string;
  /** The sync's last ThresholdInformation reading (others as Autotask counted them). */
  lastReading?: (connectionId: string) => Promise<LastReading | undefined>;
  /** Stack-wide admins, added to each connection's own recipients. */
  defaultRecipients?: readonly string[];
  /** Jobs parked while the connection slept: handed back when it wakes (absent in the worker). */
  parked?: { release(connectionId: string): Promise<{ released: number }> };
  log: Logger;
  now?: () => number;
  sleepMailCooldownMs?: number;
}

export interface StateOutcome {
  state: ConnectionState;
  changed: boolean;
  alerts: PendingAlert[];
}

const MAX_RACES = 5;

/**
 * Applies events to a connection's state (shared/connections/state.ts holds the rules):
 * 1. read the state item and decide the next state with the pure rules;
 * 2. write it with an optimistic version check: of many workers racing, one wins, the others re-read
 *    and find nothing left to do, so every transition and its e-mail happen once;
 * 3. copy `asleep` to the budget item, where the workers' reservations check it;
 * 4. hand back the jobs parked while it slept, when it woke (by hand, by link or automatically);
 * 5. send the e-mails it decided (or leave them in the outbox when this function has no mailer).
 */
export class ConnectionStateMachine {
  private readonly now: () => number;

  constructor(private readonly deps: StateMachineDeps) {
    this.now = deps.now ?? Date.now;
  }

  async status(connectionId: string): Promise<ConnectionState> {
    return (await this.deps.store.get(connectionId)).state;
  }

  /** The sync read the database total: sleep, resume, warn, and send what waits in the outbox. */
  async observe(connection: Connection, reading: Reading): Promise<StateOutcome> {
    const outcome = await this.apply(connection, { type: 'usage', ...reading }, true);
    emitMetric('ConnectionsAsleep', outcome.state.state === 'asleep' ? 1 : 0, connection.connectionId);
    return outcome;
  }

  async sleep(connection: Connection, reason: string, who: string, manual: boolean): Promise<StateOutcome> {
    return this.apply(connection, { type: 'sleep', reason, who, manual });
  }

  /**
   * A manual wake, checked against the database total: our window plus others' last reading. With
   * `episode` (a wake link's) it wakes only the sleep that began then, and not a sleep by hand:
   * otherwise it changes nothing (checked under the same version check as the write).
   */
  async wake(connection: Connection, who: string, reason?: string, episode?: number): Promise<StateOutcome> {
    const [snap, reading] = await Promise.all([
      this.deps.budget.snapshot(connection.connectionId, connection.windowSeconds),
      this.deps.lastReading?.(connection.connectionId),
    ]);
    const { total } = observedUsage(connection, snap, reading);
    return this.apply(connection, {
      type: 'wake',
      who,
      total,
      // others as that reading counted them (while it is fresh), our own calls as of now
      at: reading?.at ?? snap.readAt,
      ...(reason ? { reason } : {}),
      ...(episode !== undefined ? { episode } : {}),
    });
  }

  private async apply(connection: Connection, event: StateEvent, reconcile = false): Promise<StateOutcome> {
    const id = connection.connectionId;
    for (let race = 0; race < MAX_RACES; race++) {
      const { state, version } = await this.deps.store.get(id);
      const now = this.now();
      const { next, alerts, changed } = decide(connection, state, event, now, this.deps.sleepMailCooldownMs);
      const toSend = this.deps.mailer ? [...next.outbox, ...alerts] : [];
      const stored: ConnectionState = {
        ...next,
        outbox: this.deps.mailer ? [] : [...next.outbox, ...alerts],
      };
      if (!sameState(stored, state) && !(await this.deps.store.put(id, stored, version))) continue;
      const asleep = stored.state === 'asleep';
      if (changed || reconcile) await this.syncBudgetFlag(connection, asleep, !changed);
      if (changed) {
        this.deps.log.info(`connection is ${stored.state}`, {
          connectionId: id,
          reason: stored.reason,
          transitions: stored.transitions.slice(0, 2),
        });
      }
      if (changed && !asleep) await this.releaseParked(connection);
      if (toSend.length > 0) await this.send(connection, toSend);
      return { state: stored, changed, alerts };
    }
    throw new Error(`connection ${id}: state kept changing under ${MAX_RACES} attempts to update it`);
  }

  /** A failed release is logged, not thrown: the wake stands and the sync's sweep hands them back. */
  private async releaseParked(connection: Connection): Promise<void> {
    if (!this.deps.parked) return;
    try {
      const { released } = await this.deps.parked.release(connection.connectionId);
      if (released > 0)
        this.deps.log.info('parked jobs handed back', { connectionId: connection.connectionId, released });
    } catch (err) {
      this.deps.log.warn('could not hand back parked jobs; the sync will', {
        connectionId: connection.connectionId,
        error: errorMessage(err),
      });
    }
  }

  /** The budget item's flag is what workers obey; the sync repairs it if a writer died in between. */
  private async syncBudgetFlag(connection: Connection, asleep: boolean, onlyIfDifferent: boolean) {
    if (onlyIfDifferent) {
      const snap = await this.deps.budget.snapshot(connection.connectionId, connection.windowSeconds, 5_000);
      if (snap.asleep === asleep) return;
    }
    await this.deps.budget.setAsleep(connection.connectionId, asleep);
  }

  private async send(connection: Connection, alerts: PendingAlert[]): Promise<void> {
    const recipients = [...new Set([...connection.alertRecipients, ...(this.deps.defaultRecipients ?? [])])];
    if (recipients.length === 0 || !this.deps.mailer) {
      this.deps.log.warn('alert not e-mailed: no recipients', {
        connectionId: connection.connectionId,
        alerts,
      });
      return;
    }
    const [snap, reading] = await Promise.all([
      this.deps.budget.snapshot(connection.connectionId, connection.windowSeconds, 5_000),
      this.deps.lastReading?.(connection.connectionId),
    ]);
    for (const alert of alerts) {
      try {
        const facts = await this.facts(connection, alert, snap, reading);
        await this.deps.mailer.send({ to: recipients, ...renderAlert(facts) });
        this.deps.log.info('alert e-mailed', { connectionId: connection.connectionId, kind: alert.kind });
      } catch (err) {
        // the state change stands; a lost e-mail is logged (and the asleep alarm still fires)
        this.deps.log.error('alert e-mail failed', {
          connectionId: connection.connectionId,
          kind: alert.kind,
          error: errorMessage(err),
        });
      }
    }
  }

  private async facts(
    connection: Connection,
    alert: PendingAlert,
    snap: BudgetSnapshot,
    reading: LastReading | undefined,
  ): Promise<AlertFacts> {
    const usage = observedUsage(connection, snap, reading);
    const api = this.deps.publicApiUrl?.replace(/\/+$/, '');
    // A sleep by hand is only ended by hand: its e-mail has no link. The link is bound to this sleep:
    // for sleep and usage-high alerts `at` is the state's `since` (shared/connections/state.ts).
    const withLink =
      (alert.kind === 'sleep' || alert.kind === 'usage-high') && !alert.manual && api && this.deps.wakeLinks;
    const resumeAt = expectedResumeAt(connection, snap);
    return {
      kind: alert.kind,
      connectionId: connection.connectionId,
      at: alert.at,
      reason: alert.reason,
      ...(alert.who ? { who: alert.who } : {}),
      ...(alert.manual ? { manual: true } : {}),
      usage: { ...pick(usage), limit: connection.limit, windowSeconds: connection.windowSeconds },
      thresholds: connection.thresholds,
      busiestEndpoints: busiestEndpoints(snap, this.now()),
      // a sleep by hand does not resume by itself
      ...(resumeAt !== undefined && alert.kind !== 'resume' && !alert.manual
        ? { expectedResumeAt: resumeAt }
        : {}),
      ...(withLink
        ? {
            wakeLink: `${api}/wake-links/${await this.deps.wakeLinks?.sign(connection.connectionId, alert.at)}`,
          }
        : {}),
      ...(api
        ? { statusUrl: `${api}/console/connections/${encodeURIComponent(connection.connectionId)}` }
        : {}),
    };
  }
}

const pick = (u: Pick<Usage, 'ours' | 'others' | 'total'>) => ({
  ours: u.ours,
  others: u.others,
  total: u.total,
});

/**
 * Usage as operators should read it. The budget counts other integrations' requests plus what the
 * sync keeps in reserve for their next burst; the last ThresholdInformation reading (while it is
 * younger than the window) says what they really used, and the reserve is shown apart.
 */
export const observedUsage = (
  connection: Pick<Connection, 'windowSeconds'>,
  snap: BudgetSnapshot,
  reading: LastReading | undefined,
): { ours: number; others: number; total: number; reservedForOthers: number } => {
  const usage = usageOf(snap, bucketOf(geometry(connection.windowSeconds), snap.readAt));
  const fresh = reading && snap.readAt - reading.at < connection.windowSeconds * 1000;
  const others = fresh ? Math.min(usage.others, reading.othersSeen) : usage.others;
  return { ours: usage.ours, others, total: usage.ours + others, reservedForOthers: usage.others - others };
};

/** The endpoints with the most calls this hour and the last, from the budget item's per-hour counters. */
export const busiestEndpoints = (
  snap: BudgetSnapshot,
  now: number,
  top = 3,
): Array<{ endpoint: string; calls: number }> => {
  const hours = new Set([hourOf(now), hourOf(now) - 1]);
  const calls = new Map<string, number>();
  for (const [name, count] of snap.hourly) {
    const m = /^n(\d+)_(.+)$/.exec(name);
    if (!m || !hours.has(Number(m[1]))) continue;
    calls.set(m[2] as string, (calls.get(m[2] as string) ?? 0) + count);
  }
  return [...calls]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([endpoint, count]) => ({ endpoint, calls: count }));
};

/**
 * When the window's total will have fallen below the resume threshold if nothing more is counted:
 * the first bucket whose window holds fewer requests (or the end of a 429 block, if later).
 */
export const expectedResumeAt = (
  connection: Pick<Connection, 'limit' | 'windowSeconds' | 'thresholds'>,
  snap: BudgetSnapshot,
): number | undefined => {
  const g = geometry(connection.windowSeconds);
  const c = bucketOf(g, snap.readAt);
  const bar = Math.ceil(connection.limit * connection.thresholds.resume);
  const bucket = nextRoom(snap, c - 1, 1, Math.max(1, bar - systemAt(snap, c)));
  if (bucket === undefined) return undefined;
  return Math.max(bucketStart(g, bucket), snap.blockedUntil);
};
