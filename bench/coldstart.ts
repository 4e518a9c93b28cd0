/**
 * `npm run bench:coldstart`: each function's bundle as `cdk synth` writes it — its size, and its
 * module-initialisation time in fresh Node 24 processes (median of 15). Targets: each bundle
 * <= 600 KB minified, init <= 150 ms. Then the operators' console's page weight, served by that API
 * bundle on the local stack: the connection page while asleep (4 days of hourly rows) plus its
 * script and style sheet (target: script + style <= 100 KB). Writes bench/results/coldstart.json and
 * coldstart.md.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { startLocalGovernor } from '#local/governor.ts';
import { synthBundles } from '../test/support/synth-bundles.ts';

const RUNS = 15;
const env = {
  ...process.env,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  TABLE_NAME: 'bench',
  JOBS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs',
  DELAY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/delay',
  CRITICAL_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/critical',
  PARKED_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/parked',
  CONNECTION_SECRET_PREFIX: 'autotask-governor/bench/connections/',
  RESULTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/results',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dead-letter',
  SENDER_EMAIL: 'alerts@msp.example',
  WAKE_LINK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:wake',
  PUBLIC_API_URL: 'https://api.example',
  NODE_OPTIONS: '--enable-source-maps',
};

const synth = synthBundles('coldstart');
const rows: Array<{ fn: string; bytes: number; initMs: number[]; medianMs: number }> = [];
const functions = Object.entries(synth.bundles).sort();
const times = new Map<string, number[]>(functions.map(([fn]) => [fn, []]));
// round-robin over the functions, so a busy moment of the machine weighs on each of them alike
for (let i = 0; i < RUNS; i++) {
  for (const [fn, file] of functions) {
    const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
    times
      .get(fn)
      ?.push(
        Number(
          execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' }),
        ),
      );
  }
}
for (const [fn, file] of functions) {
  const initMs = times.get(fn) ?? [];
  const sorted = [...initMs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const medianMs =
    Math.round(
      (sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2) * 10,
    ) / 10;
  rows.push({ fn, bytes: statSync(file).size, initMs: initMs.map((m) => Math.round(m * 10) / 10), medianMs });
}

/** The console as a browser loads it from the API bundle: bytes on the wire, uncompressed (API Gateway does not compress). */
const consoleWeight = async (apiBundle: string) => {
  const gov = await startLocalGovernor({
    simulator: { latencyScale: 0 },
    syncIntervalMs: 0,
    loadApi: () => import(pathToFileURL(apiBundle).href),
  });
  try {
    const token = await gov.createToken('bench-admin', 'admin');
    const signIn = await fetch(`${gov.apiUrl}/console/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gov.apiUrl },
      body: new URLSearchParams({ token }).toString(),
    });
    const cookie = (signIn.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    await fetch(`${gov.apiUrl}/connections/${gov.connectionId}/sleep`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    const get = async (path: string) => {
      const res = await fetch(`${gov.apiUrl}${path}`, { headers: { cookie } });
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    };
    const page = await get(`/console/connections/${gov.connectionId}`);
    const assets = [...page.toString('utf8').matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map(
      (m) => (m[1] ?? '').replaceAll('&amp;', '&'),
    );
    const files = await Promise.all(assets.map(get));
    const kb = (b: number) => Math.round((b / 1024) * 10) / 10;
    return {
      pageKb: kb(page.length),
      pageGzipKb: kb(gzipSync(page).length),
      scriptAndStyleKb: kb(files.reduce((sum, f) => sum + f.length, 0)),
      totalKb: kb(page.length + files.reduce((sum, f) => sum + f.length, 0)),
      files: assets.map((a, i) => ({ path: a.replace(/\?.*/, ''), kb: kb(files[i]?.length ?? 0) })),
    };
  } finally {
    await gov.stop();
  }
};
const consolePage = await consoleWeight(synth.bundles.Api as string);
synth.cleanup();

const table = [
  `Node ${process.version}, ${RUNS} fresh processes per function (module import only, as Lambda's INIT phase).`,
  '',
  '| function | bundle (minified) | init median |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.fn} | ${(r.bytes / 1024).toFixed(0)} KB | ${r.medianMs} ms |`),
  '',
  'Targets: each bundle <= 600 KB, init <= 150 ms.',
  '',
  `Console (served by the Api bundle; the connection page while asleep, with 4 days of hourly rows): ` +
    `page ${consolePage.pageKb} KB (${consolePage.pageGzipKb} KB gzipped), ` +
    `script + style ${consolePage.scriptAndStyleKb} KB (${consolePage.files.map((f) => `${f.path.replace('/console/assets/', '')} ${f.kb} KB`).join(', ')}; target <= 100 KB), ` +
    `${consolePage.totalKb} KB in all.`,
].join('\n');
await mkdir('bench/results', { recursive: true });
await writeFile(
  'bench/results/coldstart.json',
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows, console: consolePage }, null, 2)}\n`,
);
await writeFile('bench/results/coldstart.md', `# Cold start (${new Date().toISOString()})\n\n${table}\n`);
process.stdout.write(`${table}\n`);
