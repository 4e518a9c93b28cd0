import * as z from 'zod';
import type { Connection } from '#shared/connections/model.ts';
import type { StateOutcome } from '#shared/connections/state-machine.ts';
import { connectionStatus } from '#shared/connections/status.ts';
import { describeIssues } from '#shared/jobs/schema.ts';
import { RETENTION_DAYS, toCsv } from '#shared/usage/hourly.ts';
import {
  connectionIdFrom,
  HttpError,
  json,
  MAX_JOBS_BODY_BYTES,
  type Result,
  readJson,
  readReason,
  usageCsv,
} from './http.ts';
import type { ApiDeps, Handler } from './ports.ts';
import type { RouteKey } from './route-table.ts';
import { checkSettings, saveSettings, settingsError } from './settings.ts';
import { wakeLinkConfirm, wakeLinkPage } from './wake-link-pages.ts';

/** The connection named in the path: 400 for an invalid id, 404 for an unknown one. */
export const load = async (deps: ApiDeps, rawId: string): Promise<Connection> => {
  const id = connectionIdFrom(rawId);
  const connection = await deps.connections.get(id);
  if (!connection) throw new HttpError(404, 'unknown-connection', `no connection "${id}" is configured`);
  return connection;
};

const transitionAnswer = (
  connection: Connection,
  outcome: StateOutcome,
  action: 'wake' | 'sleep',
): Result => {
  const body = {
    connectionId: connection.connectionId,
    state: outcome.state.state,
    changed: outcome.changed,
    reason: outcome.state.reason,
    since: new Date(outcome.state.since).toISOString(),
  };
  if (action === 'wake' && outcome.alerts.some((a) => a.kind === 'usage-high'))
    return json(409, {
      ...body,
      error: { code: 'usage-remains-high', message: `back to sleep at once: ${outcome.state.reason}` },
    });
  return json(200, body);
};

const usageQuery = z
  .object({
    from: z.string().optional(),
    to: z.string().optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

const DAY_MS = 86_400_000;
const time = (value: string | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms))
    throw new HttpError(
      400,
      'invalid-query',
      `"${name}" must be an ISO date or date-time, e.g. 2026-11-20 or 2026-11-20T08:00:00Z`,
    );
  return ms;
};

const listConnections: Handler = async (_req, deps) =>
  json(200, { connections: await deps.connections.list() });

const getConnection: Handler = async ({ params }, deps) => {
  const connection = await load(deps, params[0] as string);
  const [state, snap, waiting, reading] = await Promise.all([
    deps.states.status(connection.connectionId),
    deps.budget.snapshot(connection.connectionId, connection.windowSeconds),
    deps.queueDepths(),
    deps.lastReading(connection.connectionId),
  ]);
  return json(200, connectionStatus(connection, state, snap, waiting, reading));
};

/** Creates or replaces a connection's settings (functions/api/settings.ts checks and saves them). */
const putConnection: Handler = async ({ event, params }, deps) => {
  const id = connectionIdFrom(params[0] as string);
  const raw = readJson(event) ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new HttpError(400, 'invalid-settings', 'the body must be a JSON object of settings');
  const check = checkSettings(deps, id, raw);
  if (!check.ok) throw settingsError(check.error);
  const { saved, created } = await saveSettings(deps, id, check.body);
  return json(created ? 201 : 200, saved);
};

const wake: Handler = async ({ event, params, caller }, deps) => {
  const connection = await load(deps, params[0] as string);
  const outcome = await deps.states.wake(connection, caller, readReason(event));
  return transitionAnswer(connection, outcome, 'wake');
};

const sleep: Handler = async ({ event, params, caller }, deps) => {
  const connection = await load(deps, params[0] as string);
  const reason = readReason(event) ?? 'maintenance';
  const outcome = await deps.states.sleep(connection, `put to sleep by ${caller}: ${reason}`, caller, true);
  return transitionAnswer(connection, outcome, 'sleep');
};

const usage: Handler = async ({ event, params }, deps) => {
  const connection = await load(deps, params[0] as string);
  const query = usageQuery.safeParse(event.queryStringParameters ?? {});
  if (!query.success) throw new HttpError(400, 'invalid-query', describeIssues(query.error));
  const now = (deps.now ?? Date.now)();
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const from = time(query.data.from, 'from', today - 3 * DAY_MS);
  const to = Math.min(time(query.data.to, 'to', now), now);
  if (from > to) throw new HttpError(400, 'invalid-query', '"from" must be before "to"');
  if (to - from > (RETENTION_DAYS + 1) * DAY_MS)
    throw new HttpError(
      400,
      'invalid-query',
      `at most ${RETENTION_DAYS + 1} days per report (hours are kept ${RETENTION_DAYS} days)`,
    );
  const rows = await deps.hourly.report(connection, from, to);
  if (query.data.format === 'csv') return usageCsv(connection.connectionId, from, toCsv(rows));
  return json(200, {
    connectionId: connection.connectionId,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    hours: rows,
  });
};

const submitJobs: Handler = async ({ event }, deps) => {
  const body = readJson(event, MAX_JOBS_BODY_BYTES);
  const items = Array.isArray(body)
    ? body
    : body && typeof body === 'object' && Array.isArray((body as { jobs?: unknown }).jobs)
      ? (body as { jobs: unknown[] }).jobs
      : body === undefined
        ? []
        : [body];
  const outcome = await deps.intake.submit(items);
  if (outcome.accepted.length > 0) return json(202, outcome);
  if (outcome.rejected.some((r) => r.retryable))
    return json(503, {
      error: { code: 'queue-unavailable', message: 'no job could be queued; try again' },
      ...outcome,
    });
  return json(400, { error: { code: 'invalid-jobs', message: 'no job was valid' }, ...outcome });
};

/** The JSON API's routes (functions/api/route-table.ts lists them with the permission each needs). */
export const API_HANDLERS = {
  'GET /connections': listConnections,
  'GET /connections/{id}': getConnection,
  'PUT /connections/{id}': putConnection,
  'POST /connections/{id}/wake': wake,
  'POST /connections/{id}/sleep': sleep,
  'GET /connections/{id}/usage': usage,
  'POST /jobs': submitJobs,
  'GET /wake-links/{token}': wakeLinkPage,
  'POST /wake-links/{token}': wakeLinkConfirm,
} satisfies Partial<Record<RouteKey, Handler>>;
