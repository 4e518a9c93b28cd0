import httpRouterHandler from '@middy/http-router';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { allows, rolesWith } from '#shared/auth/roles.ts';
import { CONSOLE_HANDLERS } from './console/handlers.ts';
import { consoleError, signInPage } from './console/views.ts';
import { assertSameOrigin, page, readSessionCookie } from './console/web.ts';
import { errorBody, HttpError, type Result, toResponse } from './http.ts';
import type { ApiDeps, Handler, Request } from './ports.ts';
import { pathPattern, ROUTE_TABLE, type RouteKey, type RouteSpec, routeKey } from './route-table.ts';
import { API_HANDLERS } from './routes.ts';

/** Every route of the table has its handler, and no handler lacks a route (checked by the compiler). */
const HANDLERS: Record<RouteKey, Handler> = { ...API_HANDLERS, ...CONSOLE_HANDLERS };

const isConsole = (path: string) => path === '/console' || path.startsWith('/console/');

/** 404 for a path no route has, 405 (with Allow) for a known path asked with another method. */
const notFound = ({ method, path }: { method: string; path: string }): never => {
  const allow = ROUTE_TABLE.filter((r) => pathPattern(r.path).test(path)).map((r) => r.method);
  if (allow.length === 0) throw new HttpError(404, 'not-found', `no route ${path}`);
  throw new HttpError(
    405,
    'method-not-allowed',
    `${method} is not allowed on ${path}; use ${allow.join(', ')}`,
    {
      allow: allow.join(', '),
    },
  );
};

/**
 * Who is calling, checked before the route runs: a bearer token (401 without one, 403 when it is
 * wrong, 403 `insufficient-role` when its role lacks the route's permission), a console session
 * (state-changing requests also pass the same-origin check), or the wake link in the path.
 */
const authorize = async (
  spec: RouteSpec,
  event: APIGatewayProxyEventV2,
  path: string,
  deps: ApiDeps,
): Promise<Omit<Request, 'params'> | { denied: Result }> => {
  const method = spec.method;
  if (spec.auth === 'wake-link') return { event, caller: 'wake link' };
  if (spec.auth !== 'bearer' && method !== 'GET') assertSameOrigin(event);
  if (spec.auth === 'none') return { event, caller: 'anonymous' };
  if (spec.auth === 'session') {
    const session = await deps.sessions.get(readSessionCookie(event));
    if (!session)
      return { denied: page(event, 401, signInPage({ next: method === 'GET' ? path : '/console' })) };
    if (spec.needs && !allows(session.role, spec.needs))
      throw new HttpError(
        403,
        'insufficient-role',
        `a ${session.role} may not ${method} ${path}; it needs a ${rolesWith(spec.needs).join(' or ')} token`,
      );
    return { event, caller: session.name, role: session.role, session };
  }
  const check = await deps.tokens.verify(event.headers?.authorization);
  if (!check.ok)
    return {
      denied: errorBody(check.status, check.status === 401 ? 'unauthorized' : 'forbidden', check.message),
    };
  if (spec.needs && !allows(check.role, spec.needs))
    return {
      denied: errorBody(
        403,
        'insufficient-role',
        `a ${check.role} token may not ${method} ${path}; it needs a ${rolesWith(spec.needs).join(' or ')} token`,
      ),
    };
  return { event, caller: check.name, role: check.role };
};

/**
 * The API function's router: `@middy/http-router` dispatches on the route table; each route first
 * authorizes the caller, then runs. It routes on the raw path (an encoded `/` inside an id stays in
 * its segment and is refused by the id check). Every error a caller can cause is a 4xx with a
 * message (JSON, or a page under /console); anything else is logged and a 500.
 */
export const buildRouter = (deps: ApiDeps) => {
  const routes = ROUTE_TABLE.map((spec) => ({
    method: spec.method,
    path: spec.path,
    handler: async (event: APIGatewayProxyEventV2): Promise<Result> => {
      const path = event.requestContext.http.path;
      const who = await authorize(spec, event, path, deps);
      if ('denied' in who) return who.denied;
      const params = (pathPattern(spec.path).exec(path) ?? []).slice(1);
      return HANDLERS[routeKey(spec)]({ ...who, params }, deps);
    },
  }));
  const dispatch = httpRouterHandler<APIGatewayProxyEventV2, Result>({
    routes,
    notFoundResponse: notFound,
  }) as unknown as (event: APIGatewayProxyEventV2) => Promise<Result>;

  return async (event: APIGatewayProxyEventV2): Promise<Result> => {
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath.length > 1 ? event.rawPath.replace(/\/+$/, '') : event.rawPath;
    const routed = {
      ...event,
      requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method, path } },
    };
    try {
      return await dispatch(routed);
    } catch (err) {
      const known = toResponse(err);
      if (known) return isConsole(path) && err instanceof HttpError ? consoleError(routed, err) : known;
      deps.log.error('request failed', {
        method,
        path: path.replace(/^\/wake-links\/.*/, '/wake-links/…'),
        error: err,
      });
      if (isConsole(path))
        return consoleError(
          routed,
          new HttpError(500, 'internal-error', 'the request could not be completed; it was logged'),
        );
      return errorBody(500, 'internal-error', 'the request could not be completed; it was logged');
    }
  };
};
