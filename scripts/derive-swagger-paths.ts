/**
 * Derives the path allowlist `shared/autotask/swagger-paths.json` from the Autotask REST swagger.
 *
 *   npx tsx scripts/derive-swagger-paths.ts <path to autotask-rest-v1.swagger.json>
 *
 * Output: `{"Tickets/query": ["GET", "POST"], "Tickets/{id}": ["GET"], ...}`, keys relative to
 * `/V1.0/` in swagger order, methods in a fixed order. A path outside `/V1.0/` (the swagger has one,
 * `/VersionInformation`) is kept as `../<path>` so the count matches the swagger; `matchPath` never
 * matches it because it refuses `..` segments and the client only calls below `v1.0/`.
 * The JSON is written already formatted the way biome formats it, so `biome check` stays clean.
 * The project reads only the generated file, never the swagger.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const METHODS = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'] as const;
const PREFIX = '/V1.0/';
const PLACEHOLDERS = new Set(['{id}', '{parentId}']);

const swaggerPath = process.argv[2];
if (!swaggerPath) {
  console.error('usage: tsx scripts/derive-swagger-paths.ts <swagger.json>');
  process.exit(2);
}
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'shared', 'autotask', 'swagger-paths.json');

const swagger = JSON.parse(readFileSync(swaggerPath, 'utf8')) as {
  paths?: Record<string, Record<string, unknown>>;
};
if (!swagger.paths || typeof swagger.paths !== 'object')
  throw new Error(`${swaggerPath} has no "paths" object`);

const allowlist: Record<string, string[]> = {};
const seen = new Map<string, string>();
const outside: string[] = [];
for (const [path, operations] of Object.entries(swagger.paths)) {
  let key: string;
  if (path.startsWith(PREFIX)) key = path.slice(PREFIX.length);
  else if (path.startsWith('/') && !path.startsWith('/V1.0')) {
    key = `..${path}`;
    outside.push(key);
  } else throw new Error(`unexpected swagger path ${path}`);
  const segments = key.split('/').filter((segment) => segment !== '..');
  for (const segment of segments) {
    if (segment === '' || (segment.includes('{') && !PLACEHOLDERS.has(segment))) {
      // matchPath only knows integer ids; a new kind of parameter needs a decision, not a silent pass.
      throw new Error(`unsupported segment "${segment}" in swagger path ${path}`);
    }
  }
  const lower = key.toLowerCase().replace(/\{[^}]+\}/g, '{}');
  const clash = seen.get(lower);
  if (clash) throw new Error(`swagger paths ${clash} and ${path} differ only in case or parameter name`);
  seen.set(lower, path);
  const methods = METHODS.filter((method) => method.toLowerCase() in operations);
  if (methods.length === 0) throw new Error(`swagger path ${path} has no operation`);
  allowlist[key] = methods;
}

// The shape `biome format` gives this JSON: one template a line, the methods inline.
const lines = Object.entries(allowlist).map(
  ([key, methods]) => `  ${JSON.stringify(key)}: [${methods.map((m) => JSON.stringify(m)).join(', ')}]`,
);
const text = `{\n${lines.join(',\n')}\n}\n`;
writeFileSync(out, text);

const total = Object.keys(swagger.paths).length;
const minified = JSON.stringify(allowlist).length;
console.log(
  `${lines.length} templates from ${total} swagger paths -> ${out} (${text.length} bytes, ${minified} minified)` +
    (outside.length ? `; outside /V1.0/, never matched: ${outside.join(', ')}` : ''),
);
