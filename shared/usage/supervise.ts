import type { BudgetStore } from '#shared/budget/store.ts';
import { blockedAfter429, geometry } from '#shared/budget/window.ts';
import type { Connection } from '#shared/connections/model.ts';
import { type ConnectionStateMachine, expectedResumeAt } from '#shared/connections/state-machine.ts';
import type { ParkedJobs } from '#shared/jobs/parking.ts';
import type { HourlyUsage } from '#shared/usage/hourly.ts';
import {
  readAgainAt,
  type SyncDeps,
  type SyncOutcome,
  syncConnection,
} from '#shared/usage/threshold-sync.ts';

export interface SuperviseDeps extends SyncDeps {
  budget: BudgetStore;
  states: Pick<ConnectionStateMachine, 'observe' | 'sleep' | 'status'>;
  hourly: Pick<HourlyUsage, 'archive'>;
  /** Jobs parked while a connection slept (absent: nothing to sweep). */
  parked?: Pick<ParkedJobs, 'release'> & { waiting(): Promise<number> };
  /** When this container last swept each connection's parked jobs. */
  sweptAt?: Map<string, number>;
}

/**
 * The sweep hands back parked jobs of an awake connection that its wake missed: a job parked in the
 * instant after the wake's release (or on a worker's asleep flag up to a second old), or a release
 * that failed. It looks while the wake is recent (5 buckets: 5 minutes at Autotask's scale) and
 * every 10 buckets after, and only when the parked queue holds something (one GetQueueAttributes).
 */
const SWEEP_RECENT_BUCKETS = 5;
const SWEEP_EVERY_BUCKETS = 10;

/**
 * What the schedule does for each connection that is due:
 * 1. read ThresholdInformation and feed other integrations' usage into the budget (threshold-sync.ts);
 * 2. hand the database total Autotask reported to the state machine: sleep, resume (which hands
 *    back the parked jobs), warn, send e-mails waiting in the outbox (no reading, no decision: the
 *    state holds until the next one);
 * 3. asleep by itself: read again when the window is expected to fall below the resume threshold;
 * 4. a 429 on that read blocks the budget and puts the connection to sleep like a worker's 429 would;
 * 5. move closed hours of the usage report out of the budget item.
 * A connection whose turn another caller holds ("not-due") is left alone, but for the sweep.
 */
export const superviseConnection = async (
  connection: Connection,
  deps: SuperviseDeps,
): Promise<SyncOutcome> => {
  const outcome = await syncConnection(connection, deps);
  if (outcome.status !== 'not-due') await afterRead(connection, outcome, deps);
  await sweepParked(connection, deps);
  return outcome;
};

const afterRead = async (connection: Connection, outcome: SyncOutcome, deps: SuperviseDeps) => {
  const now = deps.now ?? Date.now;
  if (outcome.status === 'error' && outcome.throttled) {
    // as for a worker's 429: recorded, and the window counts as full until its oldest bucket ages out
    await deps.budget.block(connection.connectionId, blockedAfter429(connection.windowSeconds, now()));
    await deps.states.sleep(
      connection,
      'Autotask answered 429 (threshold exceeded) to ThresholdInformation',
      'sync',
      false,
    );
  }
  // Facts decide states: only a total Autotask reported. Without a reading (no room for it, or an
  // error) the state holds; the budget's own total would include the reserve for others' bursts.
  const observed =
    outcome.status === 'synced'
      ? await deps.states.observe(connection, { total: outcome.total, at: outcome.readAt })
      : undefined;
  const snap = await deps.budget.snapshot(connection.connectionId, connection.windowSeconds, 5_000);
  if (outcome.status === 'synced' && observed?.state.state === 'asleep' && !observed.state.manualSleep) {
    // an estimate only paces the next read; the resume itself is decided on what that read says
    const resumeAt = expectedResumeAt(connection, snap);
    const soonest = now() + geometry(connection.windowSeconds).bucketMs;
    if (resumeAt !== undefined && resumeAt < outcome.nextDueAt)
      await readAgainAt(deps, connection.connectionId, Math.max(resumeAt, soonest));
  }
  await deps.hourly.archive(connection.connectionId, snap);
};

const sweepParked = async (connection: Connection, deps: SuperviseDeps) => {
  if (!deps.parked) return;
  const now = (deps.now ?? Date.now)();
  const bucketMs = geometry(connection.windowSeconds).bucketMs;
  const id = connection.connectionId;
  const lastSweep = deps.sweptAt?.get(id) ?? 0;
  const periodic = now - lastSweep >= SWEEP_EVERY_BUCKETS * bucketMs;
  if ((await deps.parked.waiting()) === 0) return;
  const state = await deps.states.status(id);
  if (state.state !== 'awake') return;
  if (!periodic && now - state.since > SWEEP_RECENT_BUCKETS * bucketMs) return;
  deps.sweptAt?.set(id, now);
  const { released } = await deps.parked.release(id);
  if (released > 0) deps.log.info('parked jobs swept back', { connectionId: id, released });
};
