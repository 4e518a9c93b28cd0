import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { allows } from '#shared/auth/roles.ts';
import { SESSION_TTL_MS } from '#shared/auth/sessions.ts';
import type { Connection } from '#shared/connections/model.ts';
import { toCsv } from '#shared/usage/hourly.ts';
import { HttpError, hasControlCharacters, type Result, usageCsv } from '../http.ts';
import type { ApiDeps, Handler, Request } from '../ports.ts';
import type { RouteKey } from '../route-table.ts';
import { load } from '../routes.ts';
import { checkSettings, saveSettings } from '../settings.ts';
import { ASSETS } from './assets.ts';
import { hourlyReport, loadAll, minutePoints } from './data.ts';
import { fieldErrors, readSettingsForm } from './settings-form.ts';
import { isTimeZone } from './time-zone.ts';
import {
  type ConnectionPageModel,
  confirmWakePage,
  connectionPage,
  overviewPage,
  signInPage,
} from './views.ts';
import { originOf, page, readForm, readSessionCookie, redirect, sessionCookie } from './web.ts';

const now = (deps: ApiDeps) => (deps.now ?? Date.now)();

/** The time zone asked for (query or form), or UTC with a message when it is not an IANA name. */
const zoneOf = (asked: string | null | undefined): { tz: string; tzError?: string } => {
  if (!asked) return { tz: 'UTC' };
  return isTimeZone(asked)
    ? { tz: asked }
    : { tz: 'UTC', tzError: `"${asked}" is not an IANA time zone (e.g. Europe/Paris); showing UTC` };
};

/** Only a console path may follow the sign-in: never another site. */
const nextPath = (asked: string | null | undefined) =>
  asked && /^\/console(\/[A-Za-z0-9_.\-/%]*)?(\?[A-Za-z0-9_.\-/%=&]*)?$/.test(asked) ? asked : '/console';

const session = (req: Request) => {
  if (!req.session) throw new HttpError(401, 'unauthorized', 'sign in first');
  return req.session;
};

const connectionModel = async (
  req: Request,
  deps: ApiDeps,
  connection: Connection,
  zone: { tz: string; tzError?: string },
  extra: Partial<ConnectionPageModel> = {},
): Promise<ConnectionPageModel> => {
  const at = now(deps);
  const [views, hourly] = await Promise.all([loadAll(deps), hourlyReport(deps, connection, zone.tz, at)]);
  const view = views.find((v) => v.connection.connectionId === connection.connectionId);
  if (!view)
    throw new HttpError(
      404,
      'unknown-connection',
      `no connection "${connection.connectionId}" is configured`,
    );
  return {
    session: session(req),
    views,
    view,
    ...zone,
    hourly,
    minutes: minutePoints(view.snap, connection.windowSeconds),
    refreshSeconds: deps.consoleRefreshSeconds,
    ...extra,
  };
};

const showConnection = async (
  req: Request,
  deps: ApiDeps,
  status: number,
  connection: Connection,
  zone: { tz: string; tzError?: string },
  extra: Partial<ConnectionPageModel> = {},
): Promise<Result> =>
  page(req.event, status, connectionPage(await connectionModel(req, deps, connection, zone, extra)));

const query = (event: APIGatewayProxyEventV2, name: string) => event.queryStringParameters?.[name];

const overview: Handler = async (req, deps) => {
  const zone = zoneOf(query(req.event, 'tz'));
  const views = await loadAll(deps);
  return page(
    req.event,
    200,
    overviewPage({ session: session(req), views, tz: zone.tz, refreshSeconds: deps.consoleRefreshSeconds }),
  );
};

const signInForm: Handler = async (req) =>
  page(req.event, 200, signInPage({ next: nextPath(query(req.event, 'next')) }));

const signIn: Handler = async (req, deps) => {
  const form = readForm(req.event);
  const next = nextPath(form.get('next'));
  const token = (form.get('token') ?? '').trim();
  const check = await deps.tokens.verify(`Bearer ${token}`);
  if (!check.ok)
    return page(req.event, 401, signInPage({ next, error: `That token cannot sign in: ${check.message}.` }));
  if (!allows(check.role, 'read'))
    return page(
      req.event,
      403,
      signInPage({
        next,
        error: `A ${check.role} token cannot use the console: it needs viewer, operator or admin.`,
      }),
    );
  const created = await deps.sessions.create({ id: check.id, name: check.name, role: check.role });
  const cookie = sessionCookie(originOf(req.event), created.id, Math.floor(SESSION_TTL_MS / 1000));
  deps.log.info('console sign-in', { token: check.name, role: check.role });
  return redirect(req.event, next, [cookie]);
};

const signOut: Handler = async (req, deps) => {
  await deps.sessions.end(readSessionCookie(req.event));
  return redirect(req.event, '/console/sign-in', [sessionCookie(originOf(req.event), '', 0)]);
};

const connectionPageRoute: Handler = async (req, deps) => {
  const connection = await load(deps, req.params[0] as string);
  return showConnection(req, deps, 200, connection, zoneOf(query(req.event, 'tz')));
};

const usageCsvDownload: Handler = async (req, deps) => {
  const connection = await load(deps, req.params[0] as string);
  const from = Date.parse(query(req.event, 'from') ?? '');
  const to = Math.min(Date.parse(query(req.event, 'to') ?? ''), now(deps));
  if (Number.isNaN(from) || Number.isNaN(to) || from > to || to - from > 31 * 86_400_000)
    throw new HttpError(
      400,
      'invalid-query',
      '"from" and "to" must be ISO date-times, "from" first, at most 31 days apart',
    );
  const rows = await deps.hourly.report(connection, from, to);
  return usageCsv(connection.connectionId, from, toCsv(rows));
};

/** Without `confirm=yes` (no script to ask) a confirmation page comes first; the wake is the state machine's. */
const wake: Handler = async (req, deps) => {
  const connection = await load(deps, req.params[0] as string);
  const form = readForm(req.event);
  const zone = zoneOf(form.get('tz'));
  const who = session(req);
  if (form.get('confirm') !== 'yes')
    return page(
      req.event,
      200,
      confirmWakePage(
        { session: who, refreshSeconds: deps.consoleRefreshSeconds },
        connection.connectionId,
        zone.tz,
      ),
    );
  const outcome = await deps.states.wake(connection, req.caller);
  const high = outcome.alerts.some((a) => a.kind === 'usage-high');
  const notice = high
    ? {
        kind: 'error' as const,
        code: 'usage-remains-high',
        text: `Usage remains high: ${connection.connectionId} went back to sleep at once (${outcome.state.reason}). It resumes by itself once usage falls below the resume threshold.`,
      }
    : outcome.changed
      ? {
          kind: 'ok' as const,
          text: `${connection.connectionId} is awake: woken by ${req.caller}. Waiting jobs run again.`,
        }
      : {
          kind: 'ok' as const,
          text: `${connection.connectionId} did not change: it is ${outcome.state.state}.`,
        };
  return showConnection(req, deps, high ? 409 : 200, connection, zone, { notice });
};

const sleep: Handler = async (req, deps) => {
  const connection = await load(deps, req.params[0] as string);
  const form = readForm(req.event);
  const zone = zoneOf(form.get('tz'));
  const reason = (form.get('reason') ?? '').trim() || 'maintenance';
  if (reason.length > 500 || hasControlCharacters(reason))
    return showConnection(req, deps, 400, connection, zone, {
      sleepError: 'The reason must be one line of at most 500 characters.',
      notice: { kind: 'error', text: 'Nothing changed: the reason was not accepted.' },
    });
  const outcome = await deps.states.sleep(
    connection,
    `put to sleep by ${req.caller}: ${reason}`,
    req.caller,
    true,
  );
  return showConnection(req, deps, 200, connection, zone, {
    notice: {
      kind: 'ok',
      text: outcome.changed
        ? `${connection.connectionId} is asleep by hand: ${reason}.`
        : `${connection.connectionId} was already asleep.`,
    },
  });
};

/** Validated on the server; when anything is wrong nothing is saved and each error stands beside its field. */
const settings: Handler = async (req, deps) => {
  const connection = await load(deps, req.params[0] as string);
  const posted = readForm(req.event);
  const zone = zoneOf(posted.get('tz'));
  const { form, body } = readSettingsForm(posted, connection);
  const check = body ? checkSettings(deps, connection.connectionId, body) : undefined;
  if (!check?.ok) {
    const errors = check ? fieldErrors(check.error) : form.errors;
    return showConnection(req, deps, 400, connection, zone, {
      settings: { values: form.values, errors },
      notice: { kind: 'error', text: 'Nothing was saved: correct the fields marked below.' },
    });
  }
  const { saved } = await saveSettings(deps, connection.connectionId, check.body);
  return showConnection(req, deps, 200, saved, zone, { notice: { kind: 'ok', text: 'Settings saved.' } });
};

const asset: Handler = async (req) => {
  const file = ASSETS[req.params[0] ?? ''];
  if (!file) throw new HttpError(404, 'not-found', 'no such file');
  return {
    statusCode: 200,
    headers: {
      'content-type': file.type,
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    },
    body: file.body,
  };
};

export const CONSOLE_HANDLERS = {
  'GET /console': overview,
  'GET /console/sign-in': signInForm,
  'POST /console/sign-in': signIn,
  'POST /console/sign-out': signOut,
  'GET /console/connections/{id}': connectionPageRoute,
  'GET /console/connections/{id}/usage.csv': usageCsvDownload,
  'POST /console/connections/{id}/wake': wake,
  'POST /console/connections/{id}/sleep': sleep,
  'POST /console/connections/{id}/settings': settings,
  'GET /console/assets/{file}': asset,
} satisfies Partial<Record<RouteKey, Handler>>;
