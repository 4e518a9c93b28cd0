import type { BudgetSnapshot } from '#shared/budget/window.ts';
import { type Connection, ceilingFor } from '#shared/connections/model.ts';
import type { ConnectionState } from '#shared/connections/state.ts';
import { expectedResumeAt, observedUsage } from '#shared/connections/state-machine.ts';
import { PRIORITIES } from '#shared/jobs/schema.ts';
import type { LastReading } from '#shared/usage/threshold-sync.ts';

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

/** What `GET /connections/{id}` answers: state, usage per priority ceiling, transitions, resume time. */
export const connectionStatus = (
  connection: Connection,
  state: ConnectionState,
  snap: BudgetSnapshot,
  jobsWaiting: Record<string, number>,
  reading: LastReading | undefined,
) => {
  const usage = observedUsage(connection, snap, reading);
  const counted = usage.total + usage.reservedForOthers;
  const resumeAt =
    state.state === 'asleep' && !state.manualSleep ? expectedResumeAt(connection, snap) : undefined;
  return {
    connectionId: connection.connectionId,
    enabled: connection.enabled,
    state: state.state,
    since: iso(state.since),
    reason: state.reason,
    manualSleep: state.manualSleep,
    manualWake: state.manualWake,
    nextResumeAt: resumeAt === undefined ? null : iso(resumeAt),
    usage: {
      ours: usage.ours,
      others: usage.others,
      total: usage.total,
      /** Counted for other integrations' next period (the sync's estimate), on top of `total`. */
      reservedForOthers: usage.reservedForOthers,
      /** Every ceiling stays this far below the limit: the largest burst of others still in the window. */
      burstAllowance: snap.burstUntil > snap.readAt ? snap.burst : 0,
      lastReadingAt: reading ? iso(reading.at) : null,
      limit: connection.limit,
      windowSeconds: connection.windowSeconds,
      percentOfLimit: Math.round((usage.total / connection.limit) * 1000) / 10,
      blockedUntil: snap.blockedUntil > snap.readAt ? iso(snap.blockedUntil) : null,
      ceilings: Object.fromEntries(
        PRIORITIES.map((p) => {
          const burst = snap.burstUntil > snap.readAt ? snap.burst : 0;
          const requests = Math.min(ceilingFor(connection, p), Math.max(0, connection.limit - burst));
          return [p, { fraction: connection.ceilings[p], requests, left: Math.max(0, requests - counted) }];
        }),
      ),
      thresholds: connection.thresholds,
    },
    jobsWaiting: { ...jobsWaiting, scope: 'all connections (SQS approximate counts)' },
    transitions: state.transitions.map((t) => ({ ...t, at: iso(t.at) })),
  };
};
