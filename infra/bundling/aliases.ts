import path from 'node:path';

const here = import.meta.dirname;

/**
 * esbuild `--alias` entries for the Lambda bundles (module -> file), chosen by measuring module
 * initialisation (`npm run bench:coldstart`):
 *
 * - `node:http` (and `node:process`) are loaded through the CommonJS loader. An ES-module import of
 *   a built-in makes Node build a facade that reads every export, and reading `http.WebSocket`
 *   loads Node's bundled undici: ~25-35 ms of init for a module no function uses at init (fetch
 *   loads undici itself, at the first request). The facade of `node:process` costs ~3 ms; the other
 *   built-ins' facades cost ~1 ms and keep their plain imports. Note that esbuild's alias also
 *   rewrites sub-paths (`http/x`), which is why built-ins with sub-paths (`fs/promises`,
 *   `util/types`) are not listed.
 * - `@aws-sdk/credential-provider-node` becomes lambda-credentials.ts (see there): -130 KB per bundle.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  http: path.join(here, 'node-http.cjs'),
  'node:http': path.join(here, 'node-http.cjs'),
  process: path.join(here, 'node-process.cjs'),
  'node:process': path.join(here, 'node-process.cjs'),
  '@aws-sdk/credential-provider-node': path.join(here, 'lambda-credentials.ts'),
};
