/**
 * The answers of the Autotask API once a request has been admitted (authenticated, under the cap,
 * within the thread limit): the envelopes `{item}`, `{items,pageDetails}`, `{itemId}`,
 * `{queryCount}`, `{info}`, `{fields}`, ... over the in-memory store. Errors are thrown as
 * `SimHttpError` and become `{"errors":[message]}`.
 *
 * Validation errors (bad JSON, a missing id on PATCH/PUT, a missing required field, a bad filter)
 * answer 400 here; the real API answers some of them with 500 and the same envelope.
 */
import type { FieldList } from '#local/autotask-sim/models.ts';
import { parseQuery, project, prop, type QuerySpec, SimHttpError } from '#local/autotask-sim/query.ts';
import { methodsOf, type Route } from '#local/autotask-sim/routes.ts';
import {
  type Entity,
  type EntitySpec,
  materialize,
  type SimStore,
  singular,
} from '#local/autotask-sim/store.ts';

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

const ok = (body: unknown): ApiAnswer => ({ status: 200, body });
const notFound = (message: string): never => {
  throw new SimHttpError(404, message);
};
const badRequest = (message: string): never => {
  throw new SimHttpError(400, message);
};

/** Entities whose changes Autotask can push as webhooks (README). */
const WEBHOOK_ENTITIES = new Set(['tickets', 'ticketnotes', 'companies', 'contacts', 'configurationitems']);

const PICKLISTS: Record<string, Array<[value: number, label: string]>> = {
  'Ticket.status': [
    [1, 'New'],
    [5, 'Complete'],
    [7, 'Waiting Customer'],
    [8, 'In Progress'],
  ],
  'Ticket.priority': [
    [1, 'High'],
    [2, 'Medium'],
    [3, 'Low'],
    [4, 'Critical'],
  ],
  'Company.companyType': [
    [1, 'Customer'],
    [3, 'Prospect'],
    [5, 'Vendor'],
  ],
};

export const handleApi = (req: ApiRequest): ApiAnswer => {
  const { route } = req;
  switch (route.kind) {
    case 'threshold':
      return ok(req.threshold());
    case 'apiVersions':
      return ok({ apiVersions: ['1.0'] });
    case 'entityDescriptions':
      return ok({
        entityDescriptions: ['Tickets', 'Companies', 'Contacts', 'ConfigurationItems'].map(infoOf),
      });
    case 'info':
      return ok(infoOf(route.base));
    case 'fields':
      return ok({ fields: fieldsOf(req) });
    case 'count':
      return count(req);
    case 'query':
      return query(req);
    case 'item':
      return item(req);
    case 'itemId':
      return write(req);
    default:
      // 'zone' is answered before admission (zone look-ups are not counted).
      throw new SimHttpError(500, `No handler for ${route.method} ${route.template}.`);
  }
};

const specOf = (req: ApiRequest): EntitySpec => req.store.resolve(req.route.base, req.route.parentId);

/** Lowercased field names of a model, or null for a generic entity. */
const knownFields = (fields: FieldList | null): Set<string> | null =>
  fields ? new Set(fields.map(([name]) => name.toLowerCase())) : null;

const parseJson = (raw: string, what: string): unknown => {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch (err) {
    return badRequest(`The ${what} is not valid JSON: ${(err as Error).message}`);
  }
};

/** The query of a count or query request: the POST body, or the GET `search` parameter. */
const queryOf = (req: ApiRequest, spec: EntitySpec): { spec: QuerySpec; search: string | null } => {
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
const scope = (req: ApiRequest, spec: EntitySpec): readonly Entity[] => {
  const all = spec.collection.all();
  const { parentId } = req.route;
  if (parentId === undefined || !spec.parentField) return all;
  const field = spec.parentField;
  return all.filter((e) => e[field] === parentId);
};

const count = (req: ApiRequest): ApiAnswer => {
  const spec = specOf(req);
  const { spec: q } = queryOf(req, spec);
  return ok({ queryCount: scope(req, spec).filter(q.matches).length });
};

interface PageToken {
  after?: number;
  before?: number;
}

const encodeToken = (token: PageToken): string => Buffer.from(JSON.stringify(token)).toString('base64url');

const decodeToken = (raw: string | null): PageToken => {
  if (raw === null || raw === '') return {};
  try {
    const token = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as PageToken;
    const valid = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isInteger(v));
    if (typeof token === 'object' && token !== null && valid(token.after) && valid(token.before))
      return token;
  } catch {
    // fall through
  }
  return badRequest('The "paging" parameter is not a valid page token.');
};

/**
 * One page of a query (POST `/X/query`, GET `/X/query?search=`) or child list (GET
 * `/X/{parentId}/Y`), by ascending id. `nextPageUrl`/`prevPageUrl` are absolute URLs on the same
 * path with a `paging` token (and the `search` of a GET query); a POST query is re-POSTed with the
 * same body to them. Every page is one request against the cap.
 */
const query = (req: ApiRequest): ApiAnswer => {
  const spec = specOf(req);
  const parentMissing =
    spec.parent && req.route.parentId !== undefined && !spec.parent.get(req.route.parentId);
  const { spec: q, search } = req.route.template.toLowerCase().endsWith('/query')
    ? queryOf(req, spec)
    : { spec: parseQuery(undefined, null), search: null };
  const matching = parentMissing ? [] : scope(req, spec).filter(q.matches);
  const token = decodeToken(req.url.searchParams.get('paging'));
  let start: number;
  if (token.before !== undefined) {
    const end = firstIndexAbove(matching, token.before - 1);
    start = Math.max(0, end - q.maxRecords);
  } else {
    start = token.after === undefined ? 0 : firstIndexAbove(matching, token.after);
  }
  const page = matching.slice(start, start + q.maxRecords);
  const first = page[0];
  const last = page[page.length - 1];
  const link = (t: PageToken): string => {
    const params = new URLSearchParams();
    if (search !== null) params.set('search', search);
    params.set('paging', encodeToken(t));
    return `${req.origin}${req.url.pathname}?${params.toString()}`;
  };
  const hasNext = last !== undefined && start + page.length < matching.length;
  const hasPrev = first !== undefined && start > 0;
  return ok({
    items: page.map((e) => project(e, q.includeFields)),
    pageDetails: {
      count: page.length,
      requestCount: q.maxRecords,
      prevPageUrl: hasPrev ? link({ before: first.id }) : null,
      nextPageUrl: hasNext ? link({ after: last.id }) : null,
    },
  });
};

/** Index of the first entity with id > value (entities sorted by id). */
const firstIndexAbove = (sorted: readonly Entity[], value: number): number => {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.id <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

const describeEntity = (spec: EntitySpec, id: number): string => `${spec.name} with id ${id} was not found.`;

const item = (req: ApiRequest): ApiAnswer => {
  const spec = specOf(req);
  let id = req.route.id;
  if (id === undefined) {
    // A lone item without {id} in the path (InvoicePDF): the id is a query parameter.
    const raw = req.url.searchParams.get('id');
    if (raw === null || !/^[0-9]+$/.test(raw)) return badRequest('The "id" query parameter is required.');
    id = Number(raw);
  }
  const entity = spec.collection.get(id);
  if (!entity || !belongs(req, spec, entity)) return notFound(describeEntity(spec, id));
  return ok({ item: entity });
};

const belongs = (req: ApiRequest, spec: EntitySpec, entity: Entity): boolean =>
  req.route.parentId === undefined || !spec.parentField || entity[spec.parentField] === req.route.parentId;

/** POST (create), PATCH (partial update), PUT (full update) on a collection; DELETE on `/{id}`. */
const write = (req: ApiRequest): ApiAnswer => {
  const spec = specOf(req);
  const { method, parentId } = req.route;
  if (method === 'DELETE') {
    const id = req.route.id;
    if (id === undefined) return badRequest('DELETE needs an id in the path.');
    const entity = spec.collection.get(id);
    if (!entity || !belongs(req, spec, entity)) return notFound(describeEntity(spec, id));
    spec.collection.delete(id);
    return ok({ itemId: id });
  }
  const body = parseJson(req.rawBody, 'request body');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return badRequest('The request body must be a JSON object with the entity fields.');
  }
  if (spec.parent && parentId !== undefined && !spec.parent.get(parentId)) {
    return notFound(`The parent entity with id ${parentId} was not found.`);
  }
  const input = normalize(spec, body as Record<string, unknown>);
  const now = new Date().toISOString();

  if (method === 'POST') {
    checkRequired(spec, input);
    checkReferences(req, spec, input);
    const id = spec.collection.newId();
    const values: Record<string, unknown> = { ...spec.defaults?.(id, now), ...input, id };
    if (spec.parentField && parentId !== undefined) values[spec.parentField] = parentId;
    spec.collection.put(spec.fields ? materialize(spec.fields, values) : (values as Entity));
    return ok({ itemId: id });
  }

  const rawId = prop(body as Record<string, unknown>, 'id');
  const id = typeof rawId === 'string' && /^[0-9]+$/.test(rawId) ? Number(rawId) : rawId;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
    return badRequest(`${method} needs the entity's "id" in the body.`);
  }
  const existing = spec.collection.get(id);
  if (!existing || !belongs(req, spec, existing)) return notFound(describeEntity(spec, id));
  checkReferences(req, spec, input);
  let updated: Record<string, unknown>;
  if (method === 'PATCH') {
    updated = { ...existing };
    for (const [key, value] of Object.entries(input)) updated[keyIn(existing, key)] = value;
  } else {
    checkRequired(spec, input);
    const kept = Object.fromEntries(spec.serverOwned.map((f) => [f, existing[f]]));
    if (spec.parentField) kept[spec.parentField] = existing[spec.parentField];
    updated = { ...input, ...kept };
  }
  updated.id = id;
  spec.collection.put(spec.fields ? materialize(spec.fields, updated) : (updated as Entity));
  return ok({ itemId: id });
};

/** The key an existing entity uses for a field (case-insensitively), or the field itself. */
const keyIn = (entity: Entity, field: string): string =>
  Object.keys(entity).find((k) => k.toLowerCase() === field.toLowerCase()) ?? field;

/**
 * Body fields under the model's wire names (matched case-insensitively, unknown ones dropped as the
 * real serializer ignores them) without the server-owned ones; a generic entity keeps every field,
 * its first letter lowercased.
 */
const normalize = (spec: EntitySpec, body: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  const owned = new Set(
    [...spec.serverOwned, ...(spec.parentField ? [spec.parentField] : [])].map((f) => f.toLowerCase()),
  );
  if (spec.fields) {
    const byLower = new Map(spec.fields.map(([name]) => [name.toLowerCase(), name]));
    for (const [key, value] of Object.entries(body)) {
      const name = byLower.get(key.toLowerCase());
      if (name && !owned.has(name.toLowerCase())) out[name] = value;
    }
    return out;
  }
  for (const [key, value] of Object.entries(body)) {
    if (!owned.has(key.toLowerCase())) out[key.charAt(0).toLowerCase() + key.slice(1)] = value;
  }
  return out;
};

const checkRequired = (spec: EntitySpec, input: Record<string, unknown>): void => {
  const missing = spec.required.filter((f) => input[f] === undefined || input[f] === null || input[f] === '');
  if (missing.length)
    badRequest(`Missing value for the required field(s) ${missing.join(', ')} of ${spec.name}.`);
};

const checkReferences = (req: ApiRequest, spec: EntitySpec, input: Record<string, unknown>): void => {
  if (spec.name === 'Ticket' && input.companyID !== undefined && input.companyID !== null) {
    if (typeof input.companyID !== 'number' || !req.store.companies.get(input.companyID)) {
      badRequest(`Value does not exist for the required field companyID (${String(input.companyID)}).`);
    }
  }
};

const ACCESS = (allowed: boolean) => (allowed ? 'All' : 'None');

/** `{"info":{...}}` for an entity path base, from the swagger's methods on it. */
const infoOf = (base: string): { info: Record<string, unknown> } => {
  const segments = base.split('/');
  const child = segments[1] === '{parentId}';
  const last = segments[segments.length - 1] ?? base;
  const canCreate = methodsOf(base).includes('POST');
  const canUpdate = methodsOf(base).some((m) => m === 'PATCH' || m === 'PUT');
  const canDelete = methodsOf(`${base}/{id}`).includes('DELETE');
  const canQuery = methodsOf(`${base}/query`).length > 0 || (child && methodsOf(base).includes('GET'));
  return {
    info: {
      name: child ? `${singular(segments[0] ?? '')}${singular(last)}` : singular(last),
      canCreate,
      canDelete,
      canQuery,
      canUpdate,
      userAccessForCreate: ACCESS(canCreate),
      userAccessForDelete: ACCESS(canDelete),
      userAccessForQuery: ACCESS(canQuery),
      userAccessForUpdate: ACCESS(canUpdate),
      hasUserDefinedFields: methodsOf(`${base}/entityInformation/userDefinedFields`).length > 0,
      supportsWebhookCallouts: WEBHOOK_ENTITIES.has(base.toLowerCase()),
    },
  };
};

const DATA_TYPES: Record<string, string> = {
  long: 'long',
  integer: 'integer',
  string: 'string',
  datetime: 'datetime',
  double: 'double',
  boolean: 'boolean',
};

/** entityInformation/fields (the model's fields) or entityInformation/userDefinedFields (none). */
const fieldsOf = (req: ApiRequest): unknown[] => {
  if (req.route.template.toLowerCase().endsWith('/userdefinedfields')) return [];
  const spec = specOf(req);
  const fields: FieldList = spec.fields ?? [['id', 'long']];
  return fields
    .filter(([, type]) => type in DATA_TYPES)
    .map(([name, type]) => {
      const isReference = name !== 'id' && /ID$/.test(name);
      const picks = PICKLISTS[`${spec.name}.${name}`];
      return {
        name,
        dataType: DATA_TYPES[type],
        length: type === 'string' ? 255 : 0,
        isRequired: name === 'id' || spec.required.includes(name),
        isReadOnly: spec.serverOwned.includes(name),
        isQueryable: true,
        isReference,
        referenceEntityType: isReference ? name.charAt(0).toUpperCase() + name.slice(1, -2) : '',
        isPickList: picks !== undefined,
        picklistValues: (picks ?? []).map(([value, label], i) => ({
          value: String(value),
          label,
          isDefaultValue: i === 0,
          sortOrder: i + 1,
          parentValue: '',
          isActive: true,
          isSystem: true,
        })),
        picklistParentValueField: '',
        isSupportedWebhookField: false,
      };
    });
};
