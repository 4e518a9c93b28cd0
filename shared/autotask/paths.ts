/**
 * The allowlist of Autotask REST paths, generated from the public swagger by
 * `scripts/derive-swagger-paths.ts` into `swagger-paths.json` (template -> methods, relative to v1.0).
 * A job may only call a path and method that exist there.
 */
import swaggerPaths from '#shared/autotask/swagger-paths.json' with { type: 'json' };

export type PathMatch = { template: string; endpoint: string } | { error: string };

const ALLOWED: Readonly<Record<string, readonly string[]>> = swaggerPaths;

/** Autotask ids are int64: a positive integer without leading zeros. */
const ID = /^[1-9][0-9]{0,18}$/;
const SLOT = '{}';

/** Lowercased template with every `{...}` parameter as `{}` -> the swagger's own template. */
const byShape = new Map<string, string>();
for (const template of Object.keys(ALLOWED)) {
  byShape.set(template.toLowerCase().replace(/\{[^}]*\}/g, SLOT), template);
}

/** Number of templates in the allowlist (the swagger's path count). */
export const templateCount = byShape.size;

/** The methods the swagger allows on a template, e.g. `allowedMethods('Tickets/{id}')` -> `['GET']`. */
export const allowedMethods = (template: string): readonly string[] => ALLOWED[template] ?? [];

const DROPPED = new Set(['query', 'count']);

/**
 * The thread-limit key for a path (relative to v1.0): its segments without numeric ids (or `{...}`
 * placeholders), `query`, `count`, and without `entityInformation` and whatever follows it.
 * `/Tickets/123` -> `Tickets`, `/Tickets/query/count` -> `Tickets`, `/Tickets/42/Notes` -> `Tickets/Notes`.
 * Casing is kept as given; `matchPath` feeds it the swagger's template, so its endpoint is canonical.
 */
export const endpointOf = (path: string): string => {
  const kept: string[] = [];
  for (const segment of path.split('?')[0]!.split('/')) {
    if (segment === '' || /^[0-9]+$/.test(segment) || segment.startsWith('{')) continue;
    const lower = segment.toLowerCase();
    if (lower === 'entityinformation') break;
    if (!DROPPED.has(lower)) kept.push(segment);
  }
  return kept.join('/');
};

/**
 * Checks a request against the swagger: `path` is relative to `.../atservicesrest/v1.0` (e.g.
 * `/Tickets/42/Notes`), segments match case-insensitively, `{id}`/`{parentId}` only match positive
 * integers. Returns the swagger template (e.g. `Tickets/{parentId}/Notes`) and its thread-limit
 * endpoint, or a human-readable error.
 */
export const matchPath = (method: string, path: string): PathMatch => {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    return {
      error: `path "${path}" must start with "/" and be relative to .../atservicesrest/v1.0, e.g. /Tickets/123`,
    };
  }
  if (/[?#]/.test(path))
    return {
      error: `path "${path}" must not contain a query string or fragment; pass query parameters separately`,
    };
  const segments = path.slice(1).replace(/\/$/, '').split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return { error: `path "${path}" has an empty, "." or ".." segment` };
  }
  const shape = segments.map((segment) => (ID.test(segment) ? SLOT : segment.toLowerCase()));
  const template = byShape.get(shape.join('/'));
  if (template === undefined) return { error: unknownPath(path, shape) };

  const verb = String(method).toUpperCase();
  const allowed = ALLOWED[template]!;
  if (!allowed.includes(verb)) {
    return {
      error: `${verb} is not allowed on ${template} (${path}); the Autotask API allows ${allowed.join(', ')} there`,
    };
  }
  return { template, endpoint: endpointOf(template) };
};

/** Says which segment should have been an id when that is the only reason the path is unknown. */
const unknownPath = (path: string, shape: string[]): string => {
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === SLOT) continue;
    const template = byShape.get(shape.map((s, j) => (j === i ? SLOT : s)).join('/'));
    if (template !== undefined) {
      const segment = path.slice(1).split('/')[i];
      return `path "${path}" matches ${template} except that "${segment}" is not a positive integer id`;
    }
  }
  return `unknown Autotask path "${path}": no such path in the Autotask REST API v1.0 (swagger)`;
};
