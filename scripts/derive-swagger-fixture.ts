/**
 * Derives `test/fixtures/autotask-swagger-subset.json` from the Autotask REST swagger, so the
 * simulator's answers can be checked against the swagger without the project ever reading it.
 *
 *   npx tsx scripts/derive-swagger-fixture.ts <path to autotask-rest-v1.swagger.json>
 *
 * The fixture holds:
 * - `operations`: every swagger operation as "METHOD /V1.0/Template", grouped by the envelope its
 *   200 answer has on the wire (`item`, `query`, `count`, `itemId`, `info`, `fields`, ...). The
 *   envelope follows from the operation id's suffix (`Tickets_QueryItem` -> item, `_Query` and
 *   `_UrlParameterQuery` -> query, `_CreateEntity|_UpdateEntity|_PatchEntity|_DeleteEntity` -> itemId,
 *   ...); an unknown suffix stops the script, since it needs a decision.
 * - `envelopes`: the keys of each envelope on the wire. Where the swagger defines the result model
 *   (QueryCountResultModel, OperationResultModel, ThresholdStatusResultModel, ...) the keys are its
 *   properties camel-cased as the API's serializer does (`QueryCount` -> `queryCount`, `CI` -> `ci`).
 *   The swagger declares the bare entity model (e.g. TicketModel) as the 200 schema of get-by-id,
 *   query, create and update, which is not what the API sends; for those the envelope
 *   (`{item}`, `{items,pageDetails}`, `{itemId}`) and the PageDetails names come from the README's
 *   "Envelopes" section (observed wire format) and say so in `basis`.
 * - `served`: for the paths the simulator serves specially (zoneInformation, ThresholdInformation,
 *   Tickets, Tickets/{parentId}/Notes, Companies) and a handful served generically, each method's
 *   operation id, declared 200 schema, envelope and entity model.
 * - `definitions`: the swagger definitions those reference, as swagger and wire property names.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Schema = { $ref?: string; type?: string; items?: Schema; properties?: Record<string, Schema> };
interface Operation {
  operationId?: string;
  responses?: Record<string, { schema?: Schema }>;
}
interface Swagger {
  swagger?: string;
  info?: { title?: string; version?: string };
  basePath?: string;
  paths?: Record<string, Record<string, Operation>>;
  definitions?: Record<string, Schema>;
}

const METHODS = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'] as const;

/** Bases (template without /{id}, /query[/count], /entityInformation...) the simulator serves specially. */
const SPECIAL_BASES = [
  'ZoneInformation',
  'ThresholdInformation',
  'Tickets',
  'Tickets/{parentId}/Notes',
  'Companies',
];
/** A handful the simulator serves with its generic in-memory answers. */
const GENERIC_BASES = [
  'Contacts',
  'ConfigurationItems',
  'Companies/{parentId}/Notes',
  'Companies/{parentId}/Contacts',
  'TicketNotes',
  'ActionTypes',
];

const KIND_BY_SUFFIX: Record<string, string> = {
  QueryItem: 'item',
  Query: 'query',
  UrlParameterQuery: 'query',
  QueryCount: 'count',
  UrlParameterQueryCount: 'count',
  CreateEntity: 'itemId',
  UpdateEntity: 'itemId',
  PatchEntity: 'itemId',
  DeleteEntity: 'itemId',
  QueryEntityInformation: 'info',
  QueryFieldDefinitions: 'fields',
  QueryUserDefinedFieldDefinitions: 'fields',
  QueryThresholdInformation: 'threshold',
  QueryZoneInformation: 'zone',
  ApiVersionInformation: 'apiVersions',
};

/** Newtonsoft's CamelCasePropertyNamesContractResolver: `Id`->`id`, `CompanyID`->`companyID`, `RMMAlertID`->`rmmAlertID`, `CI`->`ci`. */
const camel = (name: string): string => {
  const chars = [...name];
  const upper = (c: string | undefined) => c !== undefined && c !== c.toLowerCase() && c === c.toUpperCase();
  for (let i = 0; i < chars.length; i++) {
    if (i === 1 && !upper(chars[i])) break;
    const hasNext = i + 1 < chars.length;
    if (i > 0 && hasNext && !upper(chars[i + 1])) break;
    chars[i] = chars[i]!.toLowerCase();
  }
  return chars.join('');
};

const swaggerPath = process.argv[2];
if (!swaggerPath) {
  console.error('usage: tsx scripts/derive-swagger-fixture.ts <swagger.json>');
  process.exit(2);
}
const out = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'test',
  'fixtures',
  'autotask-swagger-subset.json',
);
const text = readFileSync(swaggerPath, 'utf8');
const swagger = JSON.parse(text) as Swagger;
const paths = swagger.paths;
const definitions = swagger.definitions ?? {};
if (!paths || typeof paths !== 'object') throw new Error(`${swaggerPath} has no "paths" object`);

const refName = (schema: Schema | undefined): string | null =>
  schema?.$ref?.replace('#/definitions/', '') ?? null;

const definition = (name: string): { swagger: string[]; wire: string[] } => {
  const def = definitions[name];
  if (!def) throw new Error(`the swagger has no definition ${name}`);
  const props = Object.keys(def.properties ?? {});
  return { swagger: props, wire: props.map(camel) };
};

/** `Tickets/{parentId}/Notes/{id}` -> `Tickets/{parentId}/Notes`; `Tickets/query/count` -> `Tickets`. */
const baseOf = (template: string): string => {
  const segments = template.split('/');
  const info = segments.findIndex((s) => s.toLowerCase() === 'entityinformation');
  const kept = info > 0 ? segments.slice(0, info) : segments;
  while (kept.length > 1 && ['{id}', 'query', 'count'].includes(kept[kept.length - 1]!.toLowerCase()))
    kept.pop();
  return kept.join('/');
};

const operations: Record<string, string[]> = {};
const served: Record<string, Record<string, unknown>> = {};
const referenced = new Set<string>();
let operationCount = 0;

for (const [path, ops] of Object.entries(paths)) {
  const template = path.replace(/^\/V1\.0\//, '');
  const isServed =
    path.startsWith('/V1.0/') && [...SPECIAL_BASES, ...GENERIC_BASES].includes(baseOf(template));
  for (const method of METHODS) {
    const op = ops[method.toLowerCase()];
    if (!op) continue;
    operationCount++;
    const suffix = (op.operationId ?? '').replace(/^[A-Za-z0-9]*_/, '');
    const schema = refName(op.responses?.['200']?.schema);
    let kind = KIND_BY_SUFFIX[suffix];
    if (kind === undefined)
      throw new Error(`${method} ${path}: operation id ${op.operationId} has no known envelope`);
    if (kind === 'info' && schema === 'GlobalEntityInformationResultModel') kind = 'entityDescriptions';
    const key = `${method} ${path}`;
    const list = operations[kind] ?? [];
    list.push(key);
    operations[kind] = list;
    if (isServed) {
      const entityModel =
        (kind === 'item' || kind === 'query') && schema && !/ResultModel$/.test(schema) ? schema : null;
      if (entityModel) referenced.add(entityModel);
      served[key] = {
        operationId: op.operationId,
        swaggerSchema: schema,
        envelope: kind,
        model: entityModel,
      };
    }
  }
}

const ENVELOPE_DEFINITIONS: Record<string, string> = {
  count: 'QueryCountResultModel',
  itemId: 'OperationResultModel',
  info: 'EntityInformationResultModel',
  fields: 'FieldInformationResultModel',
  entityDescriptions: 'GlobalEntityInformationResultModel',
  threshold: 'ThresholdStatusResultModel',
  zone: 'ZoneInformationResultModel',
  apiVersions: 'ApiVersionResultModel',
};
const NESTED = [
  'EntityInformationModel',
  'FieldInformationModel',
  'UserDefinedFieldInformationResultModel',
  'Field',
  'PickListValue',
  'QueryModel',
  'Filter',
];

const envelopes: Record<string, Record<string, unknown>> = {
  item: {
    keys: ['item'],
    basis:
      'README "Envelopes" (one record: {"item":{...}}); the swagger declares the bare entity model as the 200 schema',
    item: 'the entity model of the operation (served[...].model), properties camel-cased',
  },
  query: {
    keys: ['items', 'pageDetails'],
    pageDetails: ['count', 'requestCount', 'prevPageUrl', 'nextPageUrl'],
    basis:
      'README "Envelopes" (query: {"items":[...],"pageDetails":{"count","requestCount","prevPageUrl","nextPageUrl"}}); ' +
      'the swagger declares the bare entity model as the 200 schema and defines no PageDetails',
  },
};
for (const [kind, name] of Object.entries(ENVELOPE_DEFINITIONS)) {
  referenced.add(name);
  envelopes[kind] = {
    keys: definition(name).wire,
    definition: name,
    basis:
      kind === 'itemId'
        ? 'swagger OperationResultModel (DELETE); create/update/patch declare the entity model, README: {"itemId":n}'
        : kind === 'threshold'
          ? 'swagger ThresholdStatusResultModel, camel-cased on the wire (README)'
          : `swagger ${name}, camel-cased on the wire`,
  };
}
for (const name of NESTED) referenced.add(name);

const defs = Object.fromEntries([...referenced].sort().map((name) => [name, definition(name)]));
const sha256 = createHash('sha256').update(text).digest('hex');
const fixture = {
  _source:
    `Derived by scripts/derive-swagger-fixture.ts from ${basename(swaggerPath)} ` +
    `("${swagger.info?.title}" ${swagger.info?.version}, Swagger ${swagger.swagger}, basePath ${swagger.basePath}, ` +
    `sha256 ${sha256}), the public Autotask PSA REST API description. Item/query envelopes and PageDetails ` +
    'come from the wire format documented in the project README (the swagger does not describe them). ' +
    'The project never reads the swagger itself; regenerate with: npx tsx scripts/derive-swagger-fixture.ts <swagger.json>',
  basePath: swagger.basePath,
  counts: { paths: Object.keys(paths).length, operations: operationCount },
  envelopes,
  served,
  definitions: defs,
  operations,
};

const json = `${JSON.stringify(fixture, null, 2)}\n`;
writeFileSync(out, json);
console.log(
  `${operationCount} operations on ${Object.keys(paths).length} paths, ${Object.keys(served).length} served specially ` +
    `or as generic samples -> ${out} (${json.length} bytes)`,
);
