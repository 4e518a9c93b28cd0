/**
 * What an admitted API request is answered from (`ApiRequest`) and its answer (`ApiAnswer`), plus
 * the helpers the entity handlers share: the error throwers, the entity spec of the route, JSON
 * parsing, the query of a count/query request and the parent scoping of child paths.
 */
import type { FieldList } from '#local/autotask-sim/models.ts';
import { parseQuery, type QuerySpec, SimHttpError } from '#local/autotask-sim/query.ts';
import type { Route } from '#local/autotask-sim/routes.ts';
import type { Entity, EntitySpec, SimStore } from '#local/autotask-sim/store.ts';

export interface ApiRequest {
  route: Route;
  url: URL;
  /** The body as received ('' when none). */
  rawBody: string;
  store: SimStore;
  /** The simulator's origin, e.g. `http://127.0.0.1:1234` (for nextPageUrl). */
  origin: string;
  threshold: () => {
    externalRequestThreshold: number;
    requestThresholdTimeframe: number;
    currentTimeframeRequestCount: number;
  };
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

export const ok = (body: unknown): ApiAnswer => ({ status: 200, body });
export const notFound = (message: string): never => {
  throw new SimHttpError(404, message);
};
export const badRequest = (message: string): never => {
  throw new SimHttpError(400, message);
};

export const specOf = (req: ApiRequest): EntitySpec => req.store.resolve(req.route.base, req.route.parentId);

/** Lowercased field names of a model, or null for a generic entity. */
const knownFields = (fields: FieldList | null): Set<string> | null =>
  fields ? new Set(fields.map(([name]) => name.toLowerCase())) : null;

export const parseJson = (raw: string, what: string): unknown => {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch (err) {
    return badRequest(`The ${what} is not valid JSON: ${(err as Error).message}`);
  }
};

/** The query of a count or query request: the POST body, or the GET `search` parameter. */
export const queryOf = (req: ApiRequest, spec: EntitySpec): { spec: QuerySpec; search: string | null } => {
  const fields = knownFields(spec.fields);
  if (req.route.method === 'POST')
    return { spec: parseQuery(parseJson(req.rawBody, 'query body'), fields), search: null };
  const search = req.url.searchParams.get('search');
  if (req.route.template.toLowerCase().endsWith('/query') || req.route.kind === 'count') {
    if (search === null || search === '') badRequest('The "search" query parameter is required.');
  }
  return { spec: parseQuery(search ? parseJson(search, '"search" parameter') : undefined, fields), search };
};

/** Entities of the collection that belong to the route's parent (for child paths). */
export const scope = (req: ApiRequest, spec: EntitySpec): readonly Entity[] => {
  const all = spec.collection.all();
  const { parentId } = req.route;
  if (parentId === undefined || !spec.parentField) return all;
  const field = spec.parentField;
  return all.filter((e) => e[field] === parentId);
};

export const describeEntity = (spec: EntitySpec, id: number): string =>
  `${spec.name} with id ${id} was not found.`;

export const belongs = (req: ApiRequest, spec: EntitySpec, entity: Entity): boolean =>
  req.route.parentId === undefined || !spec.parentField || entity[spec.parentField] === req.route.parentId;
