import type { Permission } from '#shared/auth/roles.ts';

/**
 * Every route of the operators' HTTP API and console, read by the function (functions/api/routes.ts
 * attaches a handler to each key) and by the CDK construct (infra/constructs/api.ts adds one API
 * Gateway route per entry), so the two can no longer drift apart. Paths use API Gateway's syntax.
 *
 * `auth` says what proves the caller:
 * - bearer: `Authorization: Bearer <token>` (the JSON API; docs/security.md, "Roles");
 * - session: the console's session cookie (docs/console.md); state-changing ones also pass the
 *   same-origin check;
 * - wake-link: the HMAC-signed token in the path;
 * - none: the sign-in form and the console's static files.
 * `needs` is the permission the token's role must hold (bearer and session routes).
 */
export type RouteMethod = 'GET' | 'POST' | 'PUT';
export type RouteAuth = 'bearer' | 'session' | 'wake-link' | 'none';

export interface RouteSpec {
  readonly method: RouteMethod;
  readonly path: string;
  readonly auth: RouteAuth;
  readonly needs?: Permission;
}

export const ROUTE_TABLE = [
  { method: 'GET', path: '/connections', auth: 'bearer', needs: 'read' },
  { method: 'GET', path: '/connections/{id}', auth: 'bearer', needs: 'read' },
  { method: 'PUT', path: '/connections/{id}', auth: 'bearer', needs: 'configure' },
  { method: 'POST', path: '/connections/{id}/wake', auth: 'bearer', needs: 'steer' },
  { method: 'POST', path: '/connections/{id}/sleep', auth: 'bearer', needs: 'steer' },
  { method: 'GET', path: '/connections/{id}/usage', auth: 'bearer', needs: 'read' },
  { method: 'POST', path: '/jobs', auth: 'bearer', needs: 'submit-jobs' },
  { method: 'GET', path: '/wake-links/{token}', auth: 'wake-link' },
  { method: 'POST', path: '/wake-links/{token}', auth: 'wake-link' },
  { method: 'GET', path: '/console', auth: 'session', needs: 'read' },
  { method: 'GET', path: '/console/sign-in', auth: 'none' },
  { method: 'POST', path: '/console/sign-in', auth: 'none' },
  { method: 'POST', path: '/console/sign-out', auth: 'session', needs: 'read' },
  { method: 'GET', path: '/console/connections/{id}', auth: 'session', needs: 'read' },
  { method: 'GET', path: '/console/connections/{id}/usage.csv', auth: 'session', needs: 'read' },
  { method: 'POST', path: '/console/connections/{id}/wake', auth: 'session', needs: 'steer' },
  { method: 'POST', path: '/console/connections/{id}/sleep', auth: 'session', needs: 'steer' },
  { method: 'POST', path: '/console/connections/{id}/settings', auth: 'session', needs: 'configure' },
  { method: 'GET', path: '/console/assets/{file}', auth: 'none' },
] as const satisfies readonly RouteSpec[];

type KeyOf<E> = E extends { method: infer M extends string; path: infer P extends string }
  ? `${M} ${P}`
  : never;
/** `GET /connections/{id}` etc.: exactly the table's entries. */
export type RouteKey = KeyOf<(typeof ROUTE_TABLE)[number]>;

export const routeKey = (route: RouteSpec): RouteKey => `${route.method} ${route.path}` as RouteKey;

/** The path as a regular expression: each `{name}` is one path segment. */
export const pathPattern = (path: string): RegExp =>
  new RegExp(`^${path.replace(/[.+?^$()|[\]\\]/g, '\\$&').replace(/\{[^/}]+\}/g, '([^/]+)')}$`);
