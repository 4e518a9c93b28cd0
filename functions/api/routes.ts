import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod';
import { allows, type Permission, rolesWith } from '#shared/auth/roles.ts';
import type { TokenStore } from '#shared/auth/tokens.ts';
import type { WakeLinks } from '#shared/auth/wake-links.ts';
import type { BudgetStore } from '#shared/budget/store.ts';
import {
  type Connection,
  connectionSettingsSchema,
  isOwnSecretRef,
  ownSecretRef,
} from '#shared/connections/model.ts';
import type { ConnectionStateMachine, StateOutcome } from '#shared/connections/state-machine.ts';
import { connectionStatus } from '#shared/connections/status.ts';
import type { ConnectionStore } from '#shared/connections/store.ts';
import type { JobIntake } from '#shared/jobs/intake.ts';
import { describeIssues } from '#shared/jobs/schema.ts';
import type { Logger } from '#shared/observability/logger.ts';
import { type HourlyUsage, RETENTION_DAYS, toCsv } from '#shared/usage/hourly.ts';
import type { LastReading } from '#shared/usage/threshold-sync.ts';
import {
  connectionIdFrom,
  errorBody,
  HttpError,
  json,
  MAX_JOBS_BODY_BYTES,
  type Result,
  readJson,
  readReason,
  toResponse,
} from './http.ts';
import { wakeLinkConfirm, wakeLinkPage } from './wake-link-pages.ts';

export interface ApiDeps {
  connections: Pick<ConnectionStore, 'get' | 'put' | 'list'>;
  budget: Pick<BudgetStore, 'snapshot'>;
  states: Pick<ConnectionStateMachine, 'status' | 'wake' | 'sleep'>;
  tokens: Pick<TokenStore, 'verify'>;
  wakeLinks: WakeLinks;
  hourly: Pick<HourlyUsage, 'report'>;
  intake: Pick<JobIntake, 'submit'>;
  queueDepths: () => Promise<Record<string, number>>;
  lastReading: (connectionId: string) => Promise<LastReading | undefined>;
  /** Rejects a secretRef that does not exist (Secrets Manager DescribeSecret). */
  secretExists: (secretRef: string) => Promise<boolean>;
  /** `autotask-governor/<stage>/connections/`: a connection's secret is this prefix + its id. */
  connectionSecretPrefix: string;
  log: Logger;
  now?: () => number;
}

interface Request {
  event: APIGatewayProxyEventV2;
  params: string[];
  /** The token's name, or "wake link": recorded as "who" in transitions. */
  caller: string;
}

type Handler = (req: Request, deps: ApiDeps) => Promise<Result>;

const load = async (deps: ApiDeps, rawId: string): Promise<Connection> => {
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

/**
 * Creates or replaces a connection's settings. Its secret is always its own (the secrets prefix plus
 * its id; `secretRef` may be left out), so no token can point a connection at another's credentials;
 * a `zoneUrl`, when given, must be an Autotask zone (the schema checks it).
 */
const putConnection: Handler = async ({ event, params }, deps) => {
  const id = connectionIdFrom(params[0] as string);
  const raw = readJson(event) ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new HttpError(400, 'invalid-settings', 'the body must be a JSON object of settings');
  const body = { secretRef: ownSecretRef(deps.connectionSecretPrefix, id), ...raw };
  const parsed = connectionSettingsSchema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(400, 'invalid-settings', describeIssues(parsed.error));
  }
  if (!isOwnSecretRef(parsed.data.secretRef, deps.connectionSecretPrefix, id))
    throw new HttpError(
      400,
      'invalid-settings',
      `secretRef: a connection uses its own secret, ${ownSecretRef(deps.connectionSecretPrefix, id)} (or leave secretRef out)`,
    );
  if (!(await deps.secretExists(parsed.data.secretRef)))
    throw new HttpError(
      400,
      'invalid-settings',
      `secretRef: no secret "${parsed.data.secretRef}" in Secrets Manager`,
    );
  const existed = (await deps.connections.get(id)) !== undefined;
  const saved = await deps.connections.put(id, body as z.input<typeof connectionSettingsSchema>);
  deps.log.info('connection saved', { connectionId: id, created: !existed });
  return json(existed ? 200 : 201, saved);
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
  if (query.data.format === 'csv') {
    const name = `${connection.connectionId}-usage-${new Date(from).toISOString().slice(0, 10)}.csv`;
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
      body: toCsv(rows),
    };
  }
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

interface Route {
  method: string;
  path: RegExp;
  handler: Handler;
  /** What the bearer token's role must allow; 'wake-link': the signed token in the path is the credential. */
  needs: Permission | 'wake-link';
}

/** Every route and the permission it needs (docs/security.md, "Roles", has the same table). */
const ROUTES: Route[] = [
  { method: 'GET', path: /^\/connections$/, handler: listConnections, needs: 'read' },
  { method: 'GET', path: /^\/connections\/([^/]+)$/, handler: getConnection, needs: 'read' },
  { method: 'PUT', path: /^\/connections\/([^/]+)$/, handler: putConnection, needs: 'configure' },
  { method: 'POST', path: /^\/connections\/([^/]+)\/wake$/, handler: wake, needs: 'steer' },
  { method: 'POST', path: /^\/connections\/([^/]+)\/sleep$/, handler: sleep, needs: 'steer' },
  { method: 'GET', path: /^\/connections\/([^/]+)\/usage$/, handler: usage, needs: 'read' },
  { method: 'POST', path: /^\/jobs$/, handler: submitJobs, needs: 'submit-jobs' },
  { method: 'GET', path: /^\/wake-links\/([^/]+)$/, handler: wakeLinkPage, needs: 'wake-link' },
  { method: 'POST', path: /^\/wake-links\/([^/]+)$/, handler: wakeLinkConfirm, needs: 'wake-link' },
];

/**
 * Finds the route (404 for an unknown path, 405 for a known path with another method), checks the
 * bearer token (401 without one, 403 with a wrong one, 403 `insufficient-role` when its role lacks
 * the route's permission) unless the route is a wake link, and runs it.
 * Every error a caller can cause is a 4xx with a JSON message; anything else is logged and a 500.
 */
export const route = async (event: APIGatewayProxyEventV2, deps: ApiDeps): Promise<Result> => {
  const method = event.requestContext.http.method.toUpperCase();
  const path = event.rawPath.length > 1 ? event.rawPath.replace(/\/+$/, '') : event.rawPath;
  const matching = ROUTES.filter((r) => r.path.test(path));
  try {
    if (matching.length === 0) throw new HttpError(404, 'not-found', `no route ${path}`);
    const found = matching.find((r) => r.method === method);
    if (!found) {
      const allow = matching.map((r) => r.method).join(', ');
      throw new HttpError(405, 'method-not-allowed', `${method} is not allowed on ${path}; use ${allow}`, {
        allow,
      });
    }
    let caller = 'wake link';
    if (found.needs !== 'wake-link') {
      const check = await deps.tokens.verify(event.headers?.authorization);
      if (!check.ok)
        return errorBody(check.status, check.status === 401 ? 'unauthorized' : 'forbidden', check.message);
      if (!allows(check.role, found.needs))
        return errorBody(
          403,
          'insufficient-role',
          `a ${check.role} token may not ${method} ${path}; it needs a ${rolesWith(found.needs).join(' or ')} token`,
        );
      caller = check.name;
    }
    const params = (found.path.exec(path) ?? []).slice(1);
    return await found.handler({ event, params, caller }, deps);
  } catch (err) {
    const known = toResponse(err);
    if (known) return known;
    deps.log.error('request failed', {
      method,
      path: path.replace(/^\/wake-links\/.*/, '/wake-links/…'),
      error: err,
    });
    return errorBody(500, 'internal-error', 'the request could not be completed; it was logged');
  }
};
