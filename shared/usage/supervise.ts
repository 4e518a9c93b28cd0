import type { BudgetStore } from '#shared/budget/store.ts';
import { blockedAfter429 } from '#shared/budget/window.ts';
import type { Connection } from '#shared/connections/model.ts';
import type { ConnectionStateMachine } from '#shared/connections/state-machine.ts';
import type { HourlyUsage } from '#shared/usage/hourly.ts';
import { type SyncDeps, type SyncOutcome, syncConnection } from '#shared/usage/threshold-sync.ts';

export interface SuperviseDeps extends SyncDeps {
  budget: BudgetStore;
  states: Pick<ConnectionStateMachine, 'observe' | 'sleep'>;
  hourly: Pick<HourlyUsage, 'archive'>;
}

/**
 * What the schedule does for each connection that is due:
 * 1. read ThresholdInformation and feed other integrations' usage into the budget (threshold-sync.ts);
 * 2. hand the database total Autotask reported to the state machine: sleep, resume, warn, send
 *    e-mails waiting in the outbox (no reading, no decision: the state holds until the next one);
 * 3. a 429 on that read blocks the budget and puts the connection to sleep like a worker's 429 would;
 * 4. move closed hours of the usage report out of the budget item.
 * A connection whose turn another caller holds ("not-due") is left alone.
 */
export const superviseConnection = async (
  connection: Connection,
  deps: SuperviseDeps,
): Promise<SyncOutcome> => {
  const outcome = await syncConnection(connection, deps);
  if (outcome.status === 'not-due') return outcome;
  if (outcome.status === 'error' && outcome.throttled) {
    // as for a worker's 429: recorded, and the window counts as full until its oldest bucket ages out
    await deps.budget.block(
      connection.connectionId,
      blockedAfter429(connection.windowSeconds, (deps.now ?? Date.now)()),
    );
    await deps.states.sleep(
      connection,
      'Autotask answered 429 (threshold exceeded) to ThresholdInformation',
      'sync',
      false,
    );
  }
  // Facts decide states: only a total Autotask reported. Without a reading (no room for it, or an
  // error) the state holds; the budget's own total would include the reserve for others' bursts.
  if (outcome.status === 'synced')
    await deps.states.observe(connection, { total: outcome.total, at: outcome.readAt });
  const snap = await deps.budget.snapshot(connection.connectionId, connection.windowSeconds, 5_000);
  await deps.hourly.archive(connection.connectionId, snap);
  return outcome;
};
