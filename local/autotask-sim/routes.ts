/**
 * Which Autotask paths exist and what each answers. The path list is the project's swagger-derived
 * allowlist (shared/autotask/swagger-paths.json, template -> methods, relative to `/V1.0/`); the
 * envelope of a path follows from its template shape, which the test checks for every swagger
 * operation against test/fixtures/autotask-swagger-subset.json (derived from the operation ids).
 */

import { endpointOf } from '#local/autotask-sim/endpoint.ts';
import swaggerPaths from '#shared/autotask/swagger-paths.json' with { type: 'json' };

/**
 * What a 200 answer looks like:
 * item `{item}`, query `{items,pageDetails}`, count `{queryCount}`, itemId `{itemId}`,
 * info `{info}` (entityInformation), fields `{fields}` (entityInformation/fields|userDefinedFields),
 * entityDescriptions `{entityDescriptions}` (global EntityInformation), threshold (ThresholdInformation),
 * zone (ZoneInformation), apiVersions `{apiVersions}` (VersionInformation, outside v1.0).
 */
export type EnvelopeKind =
  | 'item'
  | 'query'
  | 'count'
  | 'itemId'
  | 'info'
  | 'fields'
  | 'entityDescriptions'
  | 'threshold'
  | 'zone'
  | 'apiVersions';

export interface Route {
  /** The swagger template relative to `/V1.0/`, e.g. `Tickets/{parentId}/Notes/{id}`. */
  template: string;
  method: string;
  kind: EnvelopeKind;
  /** Thread-limit key, e.g. `Tickets/Notes`. */
  endpoint: string;
  /** The template without `/{id}`, `/query[/count]` or `/entityInformation...`, e.g. `Tickets/{parentId}/Notes`. */
  base: string;
  id?: number;
  parentId?: number;
}

export type RouteMatch = { route: Route } | { status: 404 | 405; message: string };

const TEMPLATES: Readonly<Record<string, readonly string[]>> = swaggerPaths;
const SLOT = '{}';
const NUMERIC = /^[0-9]{1,18}$/;

/** Lowercased template shape (parameters as `{}`) -> template. */
const byShape = new Map<string, string>();
for (const template of Object.keys(TEMPLATES)) {
  byShape.set(shapeOf(template), template);
}

function shapeOf(template: string): string {
  return template.toLowerCase().replace(/\{[^}]*\}/g, SLOT);
}

/** The envelope a swagger operation answers with, from the template's shape and the method. */
export const envelopeKindOf = (method: string, template: string): EnvelopeKind => {
  const verb = method.toUpperCase();
  const lower = template.toLowerCase();
  if (lower === '../versioninformation') return 'apiVersions';
  if (lower === 'thresholdinformation') return 'threshold';
  if (lower === 'zoneinformation') return 'zone';
  if (lower === 'entityinformation') return 'entityDescriptions';
  if (lower.endsWith('/entityinformation')) return 'info';
  if (lower.endsWith('/entityinformation/fields') || lower.endsWith('/entityinformation/userdefinedfields'))
    return 'fields';
  if (lower.endsWith('/query/count')) return 'count';
  if (lower.endsWith('/query')) return 'query';
  if (verb !== 'GET') return 'itemId';
  if (lower.endsWith('/{id}')) return 'item';
  // GET on a collection: a child list (`Tickets/{parentId}/Notes`) or a lone item (`InvoicePDF?id=`).
  return lower.includes('{parentid}') ? 'query' : 'item';
};

/** `Tickets/{parentId}/Notes/{id}` -> `Tickets/{parentId}/Notes`, `Tickets/query/count` -> `Tickets`. */
export const baseOf = (template: string): string => {
  const segments = template.split('/');
  const info = segments.findIndex((s) => s.toLowerCase() === 'entityinformation');
  const kept = info > 0 ? segments.slice(0, info) : segments;
  while (kept.length > 1) {
    const last = kept[kept.length - 1]!.toLowerCase();
    if (last === '{id}' || last === 'query' || last === 'count') kept.pop();
    else break;
  }
  return kept.join('/');
};

/**
 * Matches a path below `/atservicesrest/` (e.g. `v1.0/Tickets/42`, `versionInformation`)
 * case-insensitively; `{id}` and `{parentId}` match non-negative integers.
 */
export const matchRoute = (method: string, below: string): RouteMatch => {
  const trimmed = below.replace(/^\/+|\/+$/g, '');
  let relative: string;
  if (/^v1\.0(?:\/|$)/i.test(trimmed)) relative = trimmed.slice(4).replace(/^\/+/, '');
  else relative = `../${trimmed}`;
  const segments = relative.split('/');
  const shape = segments.map((s) => (NUMERIC.test(s) ? SLOT : s.toLowerCase())).join('/');
  const template = relative === '' ? undefined : byShape.get(shape);
  if (template === undefined) {
    return { status: 404, message: `No Autotask REST resource matches "/atservicesrest/${trimmed}".` };
  }
  const verb = method.toUpperCase();
  const allowed = TEMPLATES[template] ?? [];
  if (!allowed.includes(verb)) {
    return {
      status: 405,
      message: `The requested resource does not support http method '${verb}'. Allowed: ${allowed.join(', ')}.`,
    };
  }
  const route: Route = {
    template,
    method: verb,
    kind: envelopeKindOf(verb, template),
    endpoint: endpointOf(template),
    base: baseOf(template),
  };
  const names = template.split('/');
  names.forEach((name, i) => {
    if (name === '{id}') route.id = Number(segments[i]);
    if (name === '{parentId}') route.parentId = Number(segments[i]);
  });
  return { route };
};

/** The swagger's methods for a template (for entityInformation's canCreate/canQuery/...). */
export const methodsOf = (template: string): readonly string[] => {
  const found = byShape.get(shapeOf(template));
  return found ? (TEMPLATES[found] ?? []) : [];
};
