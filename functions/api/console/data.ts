import { type BudgetSnapshot, bucketOf, bucketStart, geometry, prefix, SPAN } from '#shared/budget/window.ts';
import type { Connection } from '#shared/connections/model.ts';
import { connectionStatus } from '#shared/connections/status.ts';
import { type HourRow, RETENTION_DAYS } from '#shared/usage/hourly.ts';
import type { ApiDeps } from '../ports.ts';
import type { MinutePoint } from './charts.ts';
import { startOfLocalDay } from './time-zone.ts';

export type Status = ReturnType<typeof connectionStatus>;
export type StateLabel = 'awake' | 'asleep' | 'asleep by hand' | 'blocked after a 429';

/** What the console shows of one connection, read as `GET /connections/{id}` reads it. */
export interface ConnectionView {
  connection: Connection;
  status: Status;
  snap: BudgetSnapshot;
  label: StateLabel;
  /** The database total has reached the warn threshold. */
  pastWarn: boolean;
}

export const loadView = async (
  deps: ApiDeps,
  connection: Connection,
  waiting?: Record<string, number>,
): Promise<ConnectionView> => {
  const [state, snap, depths, reading] = await Promise.all([
    deps.states.status(connection.connectionId),
    deps.budget.snapshot(connection.connectionId, connection.windowSeconds),
    waiting ?? deps.queueDepths(),
    deps.lastReading(connection.connectionId),
  ]);
  const status = connectionStatus(connection, state, snap, depths, reading);
  const label: StateLabel = status.usage.blockedUntil
    ? 'blocked after a 429'
    : state.state === 'awake'
      ? 'awake'
      : state.manualSleep
        ? 'asleep by hand'
        : 'asleep';
  const pastWarn = status.usage.total >= connection.limit * connection.thresholds.warn;
  return { connection, status, snap, label, pastWarn };
};

/** Every connection (for the overview and the banner), with one read of the queues for all. */
export const loadAll = async (deps: ApiDeps): Promise<ConnectionView[]> => {
  const [connections, waiting] = await Promise.all([deps.connections.list(), deps.queueDepths()]);
  return Promise.all(connections.map((c) => loadView(deps, c, waiting)));
};

/**
 * The window bucket by bucket (a minute each for Autotask's hour) from the budget item: calls
 * counted in each bucket, split into other integrations' (as the budget counts them, reserve
 * included) and ours (the rest, plus the sync's own reads). The item keeps no priority per bucket,
 * only per hour, so ours is one figure here.
 */
export const minutePoints = (snap: BudgetSnapshot, windowSeconds: number): MinutePoint[] => {
  const g = geometry(windowSeconds);
  const c = bucketOf(g, snap.readAt);
  const points: MinutePoint[] = [];
  for (let b = c - SPAN + 1; b <= c; b++) {
    const counted = Math.max(0, prefix(snap, b) - prefix(snap, b - 1));
    const others = Math.min(counted, snap.others.get(b) ?? 0);
    points.push({ at: bucketStart(g, b), ours: counted - others + (snap.system.get(b) ?? 0), others });
  }
  return points;
};

export interface HourlyReport {
  from: number;
  to: number;
  rows: HourRow[];
}

/** "API Activity by Hour" for the current day in `timeZone` and the 3 before (the usage report). */
export const hourlyReport = async (
  deps: ApiDeps,
  connection: Connection,
  timeZone: string,
  now: number,
): Promise<HourlyReport> => {
  const from = Math.max(startOfLocalDay(now, timeZone, 3), now - RETENTION_DAYS * 86_400_000);
  const rows = await deps.hourly.report(connection, from, now);
  return { from, to: now, rows };
};
