/**
 * `npm run bench:coldstart`: each function's bundle as `cdk synth` writes it — its size, and its
 * module-initialisation time in fresh Node 24 processes (median of 10). Targets: worker <= 600 KB
 * minified, init <= 150 ms. Writes bench/results/coldstart.json and coldstart.md.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { synthBundles } from '../test/support/synth-bundles.ts';

const RUNS = 10;
const env = {
  ...process.env,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  TABLE_NAME: 'bench',
  JOBS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs',
  DELAY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/delay',
  RESULTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/results',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dead-letter',
  SENDER_EMAIL: 'alerts@msp.example',
  WAKE_LINK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:wake',
  PUBLIC_API_URL: 'https://api.example',
  NODE_OPTIONS: '--enable-source-maps',
};

const synth = synthBundles('coldstart');
const rows: Array<{ fn: string; bytes: number; initMs: number[]; medianMs: number }> = [];
for (const [fn, file] of Object.entries(synth.bundles).sort()) {
  const initMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
    initMs.push(
      Number(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' }),
      ),
    );
  }
  const sorted = [...initMs].sort((a, b) => a - b);
  const medianMs = Math.round((((sorted[4] ?? 0) + (sorted[5] ?? 0)) / 2) * 10) / 10;
  rows.push({ fn, bytes: statSync(file).size, initMs: initMs.map((m) => Math.round(m * 10) / 10), medianMs });
}
synth.cleanup();

const table = [
  `Node ${process.version}, ${RUNS} fresh processes per function (module import only, as Lambda's INIT phase).`,
  '',
  '| function | bundle (minified) | init median |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.fn} | ${(r.bytes / 1024).toFixed(0)} KB | ${r.medianMs} ms |`),
  '',
  'Targets: worker <= 600 KB, init <= 150 ms.',
].join('\n');
await mkdir('bench/results', { recursive: true });
await writeFile(
  'bench/results/coldstart.json',
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`,
);
await writeFile('bench/results/coldstart.md', `# Cold start (${new Date().toISOString()})\n\n${table}\n`);
process.stdout.write(`${table}\n`);
