/**
 * Autotask's query language: `{"MaxRecords":500,"IncludeFields":["id"],"filter":[{"op":"eq","field":"status","value":1}]}`.
 * Operators eq noteq gt gte lt lte beginsWith endsWith contains exist notExist in notIn, grouping
 * with {"op":"and"|"or","items":[...]}, `udf:true` for user-defined fields. Property names of the
 * body and field names are case-insensitive (as on the real API); string comparisons too (SQL
 * Server's default collation). A null field matches only `notExist` (and `noteq`/`notIn` never).
 */
import type { Entity } from '#local/autotask-sim/store.ts';

export const MAX_RECORDS = 500;

/** A request the simulator refuses with `{"errors":[message]}`. */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface QuerySpec {
  maxRecords: number;
  /** Lowercased field names to return (id always), or null for all. */
  includeFields: Set<string> | null;
  matches: (entity: Entity) => boolean;
  /** Whether a filter was given at all (the real API requires one; the simulator does not). */
  filtered: boolean;
}

type Predicate = (entity: Entity) => boolean;

const COMPARISONS = new Set(['eq', 'noteq', 'gt', 'gte', 'lt', 'lte']);
const STRING_OPS = new Set(['beginswith', 'endswith', 'contains']);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** A property of an object by case-insensitive name. */
export const prop = (object: Record<string, unknown>, name: string): unknown => {
  if (name in object) return object[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) return object[key];
  return undefined;
};

/**
 * Parses a query body (POST) or the `search` parameter (GET). `knownFields` (lowercased) makes an
 * unknown field name an error, as on the real API; null accepts any field (generic entities).
 */
export const parseQuery = (raw: unknown, knownFields: Set<string> | null): QuerySpec => {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new SimHttpError(400, 'The query must be a JSON object.');
  const body = raw as Record<string, unknown>;

  let maxRecords = MAX_RECORDS;
  const max = prop(body, 'MaxRecords');
  if (max !== undefined && max !== null) {
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
      throw new SimHttpError(400, `MaxRecords must be an integer between 1 and ${MAX_RECORDS}.`);
    }
    maxRecords = Math.min(max, MAX_RECORDS);
  }

  let includeFields: Set<string> | null = null;
  const include = prop(body, 'IncludeFields');
  if (include !== undefined && include !== null) {
    if (!Array.isArray(include) || include.some((f) => typeof f !== 'string')) {
      throw new SimHttpError(400, 'IncludeFields must be an array of field names.');
    }
    if (include.length > 0) {
      includeFields = new Set((include as string[]).map((f) => f.toLowerCase()));
      includeFields.add('id');
      if (knownFields) {
        for (const f of includeFields) {
          if (!knownFields.has(f)) throw new SimHttpError(400, `Unable to find ${f} in the entity's fields.`);
        }
      }
    }
  }

  const filter = prop(body, 'Filter');
  if (filter !== undefined && filter !== null && !Array.isArray(filter)) {
    throw new SimHttpError(400, 'filter must be an array of conditions.');
  }
  const conditions = ((filter as unknown[] | undefined) ?? []).map((item) => compile(item, knownFields));
  return {
    maxRecords,
    includeFields,
    matches: (entity) => conditions.every((condition) => condition(entity)),
    filtered: conditions.length > 0,
  };
};

const compile = (raw: unknown, knownFields: Set<string> | null): Predicate => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SimHttpError(400, 'Each filter condition must be an object with "op".');
  }
  const item = raw as Record<string, unknown>;
  const op = prop(item, 'op');
  if (typeof op !== 'string') throw new SimHttpError(400, 'A filter condition is missing "op".');
  const lowerOp = op.toLowerCase();

  if (lowerOp === 'and' || lowerOp === 'or') {
    const items = prop(item, 'items');
    if (!Array.isArray(items) || items.length === 0) {
      throw new SimHttpError(400, `The "${op}" group needs a non-empty "items" array.`);
    }
    const parts = items.map((part) => compile(part, knownFields));
    return lowerOp === 'and' ? (e) => parts.every((p) => p(e)) : (e) => parts.some((p) => p(e));
  }

  const field = prop(item, 'field');
  if (typeof field !== 'string' || field === '') {
    throw new SimHttpError(400, `The "${op}" condition is missing "field".`);
  }
  const udf = prop(item, 'udf') === true;
  if (!udf && knownFields && !knownFields.has(field.toLowerCase())) {
    throw new SimHttpError(400, `Unable to find ${field} in the entity's fields.`);
  }
  const read = (entity: Entity): unknown => {
    if (!udf) return prop(entity, field);
    const udfs = prop(entity, 'userDefinedFields');
    if (!Array.isArray(udfs)) return undefined;
    const lower = field.toLowerCase();
    const found = udfs.find(
      (u) => typeof u === 'object' && u !== null && String(prop(u, 'name')).toLowerCase() === lower,
    ) as Record<string, unknown> | undefined;
    return found ? prop(found, 'value') : undefined;
  };
  const value = prop(item, 'value');

  if (lowerOp === 'exist') return (e) => !isNull(read(e));
  if (lowerOp === 'notexist') return (e) => isNull(read(e));
  if (lowerOp === 'in' || lowerOp === 'notin') {
    if (!Array.isArray(value)) throw new SimHttpError(400, `The "${op}" condition needs an array "value".`);
    const positive = lowerOp === 'in';
    return (e) => {
      const v = read(e);
      if (isNull(v)) return false;
      return value.some((candidate) => compare(v, candidate) === 0) === positive;
    };
  }
  if (COMPARISONS.has(lowerOp)) {
    if (value === undefined) throw new SimHttpError(400, `The "${op}" condition is missing "value".`);
    return (e) => {
      const v = read(e);
      if (isNull(v) || isNull(value)) return lowerOp === 'eq' ? isNull(v) && isNull(value) : false;
      const c = compare(v, value);
      switch (lowerOp) {
        case 'eq':
          return c === 0;
        case 'noteq':
          return c !== 0;
        case 'gt':
          return c > 0;
        case 'gte':
          return c >= 0;
        case 'lt':
          return c < 0;
        default:
          return c <= 0;
      }
    };
  }
  if (STRING_OPS.has(lowerOp)) {
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new SimHttpError(400, `The "${op}" condition needs a string "value".`);
    }
    const needle = String(value).toLowerCase();
    return (e) => {
      const v = read(e);
      if (isNull(v)) return false;
      const hay = String(v).toLowerCase();
      if (lowerOp === 'beginswith') return hay.startsWith(needle);
      if (lowerOp === 'endswith') return hay.endsWith(needle);
      return hay.includes(needle);
    };
  }
  throw new SimHttpError(400, `Unsupported filter operator "${op}".`);
};

const isNull = (v: unknown): boolean => v === null || v === undefined;

/** Numbers numerically, ISO dates by time, booleans as 0/1, strings case-insensitively. */
const compare = (a: unknown, b: unknown): number => {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== null && nb !== null) return Math.sign(na - nb);
  if (typeof a === 'string' && typeof b === 'string' && ISO_DATE.test(a) && ISO_DATE.test(b)) {
    const ta = Date.parse(a);
    const tb = Date.parse(b);
    if (!Number.isNaN(ta) && !Number.isNaN(tb)) return Math.sign(ta - tb);
  }
  const sa = String(a).toLowerCase();
  const sb = String(b).toLowerCase();
  return sa < sb ? -1 : sa > sb ? 1 : 0;
};

const numeric = (v: unknown): number | null => {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && /^-?\d+(?:\.\d+)?$/.test(v.trim())) return Number(v);
  return null;
};

/** The entity with only the included fields (in the entity's own order). */
export const project = (entity: Entity, include: Set<string> | null): Entity => {
  if (!include) return entity;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entity)) if (include.has(key.toLowerCase())) out[key] = value;
  return out as Entity;
};
