/**
 * Writes: create (POST), partial and full update (PATCH, PUT) and DELETE, with the body's fields
 * normalized to the model and the required-field and reference checks.
 */
import {
  type ApiAnswer,
  type ApiRequest,
  badRequest,
  belongs,
  describeEntity,
  notFound,
  ok,
  parseJson,
  specOf,
} from '#local/autotask-sim/api-request.ts';
import { prop } from '#local/autotask-sim/query.ts';
import { type Entity, type EntitySpec, materialize } from '#local/autotask-sim/store.ts';

/** POST (create), PATCH (partial update), PUT (full update) on a collection; DELETE on `/{id}`. */
export const write = (req: ApiRequest): ApiAnswer => {
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
