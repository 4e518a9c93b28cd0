/**
 * `npm start`: the governor on a local stack, with no AWS account. Drives more jobs than the budget
 * allows through the real worker handler against the Autotask simulator, prints calls made, jobs
 * waiting and budget left as it goes, and ends with a summary that proves no rolling window went
 * over the ceiling and no job was lost. Then it plays the operator: a viewer token may look but not
 * steer; a neighbour's burst puts the connection to sleep and the alert e-mail SES captured wakes it
 * with its link; a sleep by hand through the HTTPS API is woken by hand. Exits non-zero if any check fails.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { startLocalGovernor } from '#local/governor.ts';
import { writeStackFile } from '#local/stack-file.ts';
import type { JobResult } from '#shared/jobs/result.ts';
import type { JobInput, Priority } from '#shared/jobs/schema.ts';

const LIMIT = 60;
const WINDOW_SECONDS = 20;
const CEILING = {
  bulk: Math.floor(LIMIT * 0.6),
  normal: Math.floor(LIMIT * 0.8),
  critical: Math.floor(LIMIT * 0.95),
};
const MIX: Array<[Priority, number]> = [
  ['normal', 120],
  ['bulk', 20],
  ['critical', 8],
];

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;

console.log('autotask-governor demo: local AWS emulators + simulated Autotask, no AWS account needed\n');
const gov = await startLocalGovernor({
  simulator: { limit: LIMIT, windowSeconds: WINDOW_SECONDS, latencyScale: 0.05, baseLatencyMs: 30 },
  connection: { limit: LIMIT, windowSeconds: WINDOW_SECONDS },
  worker: { maxConcurrency: 5 }, // the deployed batch size and batching window
});
await writeStackFile(gov);
console.log(
  `Autotask cap: ${LIMIT} requests per rolling ${WINDOW_SECONDS} s (the real one: 10,000 per 60 min; same rules, shorter clock).`,
);
console.log(
  `Ceilings: bulk ${CEILING.bulk}, normal ${CEILING.normal}, critical ${CEILING.critical} requests per rolling window.`,
);

const jobs: JobInput[] = [];
for (const [priority, count] of MIX) {
  for (let i = 0; i < count; i++) {
    const n = jobs.length;
    const kind = n % 5;
    jobs.push({
      jobId: `demo-${priority}-${i}`,
      connectionId: gov.connectionId,
      priority,
      request:
        kind === 0
          ? {
              method: 'POST',
              path: '/Tickets/query',
              body: { MaxRecords: 5, filter: [{ op: 'gte', field: 'id', value: n }] },
            }
          : kind === 1
            ? { method: 'PATCH', path: '/Tickets', body: { id: 1 + (n % 50), status: 5 } }
            : { method: 'GET', path: kind === 2 ? `/Companies/${1 + (n % 20)}` : `/Tickets/${1 + n}` },
    });
  }
}
// shuffle so priorities arrive mixed, as they would from a dozen integrations
for (let i = jobs.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [jobs[i], jobs[j]] = [jobs[j] as JobInput, jobs[i] as JobInput];
}
console.log(
  `Sending ${jobs.length} jobs (${MIX.map(([p, c]) => `${c} ${p}`).join(', ')}): ${(jobs.length / CEILING.normal).toFixed(1)}x the normal ceiling.\n`,
);
await gov.sendJobs(jobs);

const results = new Map<string, JobResult>();
const dead: string[] = [];
const waiting = async () => {
  const out = await gov.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: gov.resources.queueUrls.delay,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
};
const deadline = Date.now() + 5 * 60_000;
let lastPrint = 0;
while (results.size + dead.length < jobs.length && Date.now() < deadline) {
  for (const m of await gov.drain(gov.resources.queueUrls.results, 1)) {
    const r = JSON.parse(m.Body ?? '{}') as JobResult;
    results.set(r.jobId, r);
  }
  for (const m of await gov.drain(gov.resources.queueUrls.deadLetter)) dead.push(m.Body ?? '');
  if (Date.now() - lastPrint >= 2000) {
    lastPrint = Date.now();
    const inWindow = gov.simulator.windowTotal();
    console.log(
      `${elapsed()}  calls made ${String(gov.simulator.calls({ source: 'ours' }).length).padStart(4)}  ` +
        `in rolling window ${String(inWindow).padStart(3)}/${LIMIT}  budget left (normal) ${String(Math.max(0, CEILING.normal - inWindow)).padStart(3)}  ` +
        `jobs waiting ${String(await waiting()).padStart(4)}  done ${String(results.size).padStart(4)}/${jobs.length}`,
    );
  }
}

const calls = gov.simulator.calls({ source: 'ours' });
const busiest = gov.simulator.maxInRollingWindow({ source: 'all' });
const refused = calls.filter((c) => c.status === 429).length;
const succeeded = [...results.values()].filter((r) => r.status === 'succeeded').length;
const lost = jobs.length - results.size - dead.length;
const byPriority = (p: Priority) => {
  const done = [...results.values()].filter((r) => r.jobId.startsWith(`demo-${p}-`));
  const waits = done.map((r) => r.waitedMs).sort((a, b) => a - b);
  return `${p.padEnd(8)} ${String(done.length).padStart(4)} done, median wait ${((waits[Math.floor(waits.length / 2)] ?? 0) / 1000).toFixed(1)} s`;
};
const operator = await operatorTour();
const checks: Array<[string, boolean]> = [
  [
    `busiest rolling ${WINDOW_SECONDS} s window: ${busiest} requests <= critical ceiling ${CEILING.critical} (cap ${LIMIT})`,
    busiest <= CEILING.critical,
  ],
  [`HTTP 429 answers from Autotask: ${refused}`, refused === 0],
  [
    `jobs sent ${jobs.length} = results ${results.size} + dead letters ${dead.length} (lost: ${lost})`,
    lost === 0,
  ],
  [`succeeded: ${succeeded} of ${jobs.length}`, succeeded === jobs.length],
  ...operator,
];
console.log(`\nSummary after ${elapsed()}`);
for (const p of ['critical', 'normal', 'bulk'] as const) console.log(`  ${byPriority(p)}`);
for (const [text, ok] of checks) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${text}`);
await gov.stop();
const failed = checks.some(([, ok]) => !ok);
console.log(failed ? '\nDemo FAILED.' : '\nDemo complete: every job ran, none over the cap, none lost.');
console.log(
  "\nTo watch and steer it in the operators' console (docs/console.md): `npm run local` keeps a local\n" +
    'stack running and prints its console URL (http://127.0.0.1:<port>/console, also in .local/stack.json);\n' +
    'in another terminal `npm run token -- create --name me --role operator --local` prints a token to sign in with.',
);
process.exit(failed ? 1 : 0);

/** The operators' side: the HTTPS API with role-bearing tokens, an alert e-mail, and its wake link. */
async function operatorTour(): Promise<Array<[string, boolean]>> {
  console.log('\nThe operator: the HTTPS API (API Gateway stand-in) and alert e-mails (SES emulator)');
  const tokens = {
    operator: await gov.createToken('demo-operator', 'operator'),
    viewer: await gov.createToken('demo-viewer', 'viewer'),
  };
  const api = async (method: string, path: string, as?: keyof typeof tokens) => {
    const res = await fetch(`${gov.apiUrl}${path}`, {
      method,
      headers: as ? { authorization: `Bearer ${tokens[as]}` } : {},
    });
    const text = await res.text();
    return { status: res.status, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  };
  const id = gov.connectionId;
  const state = async () => (await api('GET', `/connections/${id}`, 'viewer')).json;
  const asleepMails = async () =>
    ((await gov.emulators.sesStore()) as Array<{ subject: string; body: { text?: string } }>).filter((m) =>
      /: asleep/.test(m.subject),
    );
  const anonymous = await api('POST', `/connections/${id}/sleep`);
  console.log(`  POST /connections/${id}/sleep without a token -> ${anonymous.status}`);
  const viewerSleep = await api('POST', `/connections/${id}/sleep`, 'viewer');
  console.log(`  the same with a viewer token -> ${viewerSleep.status} ${viewerSleep.json?.error?.code}`);

  // a neighbour's burst: the sync reads the database total past the sleep threshold
  const until = async (done: () => Promise<boolean>, ms: number) => {
    for (const end = Date.now() + ms; !(await done()) && Date.now() < end; )
      await new Promise((resolve) => setTimeout(resolve, 250));
  };
  // (it keeps the window at 92 % of the cap until the sync's next ThresholdInformation read sees it:
  // at this demo's tiny limit the sync reads about every half minute)
  const burst = Math.ceil(LIMIT * 0.92);
  const topUp = () => gov.simulator.addOtherCalls(Math.max(0, burst - gov.simulator.windowTotal()));
  topUp();
  const busy = setInterval(topUp, 500);
  await until(async () => (await asleepMails()).length > 0, 60_000);
  const mail = (await asleepMails()).at(-1);
  console.log(`  another integration's burst -> state ${(await state())?.state}; e-mail: "${mail?.subject}"`);
  const link = /https?:\/\/\S+\/wake-links\/\S+/.exec(mail?.body.text ?? '')?.[0] ?? '';
  const path = link.slice(gov.apiUrl.length);
  const page = await api('GET', path);
  console.log(
    `  its wake link, opened -> ${page.status} confirmation page; state still ${(await state())?.state}`,
  );
  // confirmed while the burst is still in the window: it wakes, finds usage too high, sleeps again
  const confirmed = await api('POST', path);
  const after = await state();
  console.log(
    `  confirmed (POST) while the burst is still counted -> ${confirmed.status}; state ${after?.state}: ${after?.reason}`,
  );
  clearInterval(busy);
  await until(async () => (await state())?.state === 'awake', 90_000);
  const resumed = await state();
  console.log(
    `  once the burst left the rolling window -> ${resumed?.state}: ${resumed?.transitions?.[0]?.reason}`,
  );
  const reused = await api('POST', path);
  console.log(`  the same link again -> ${reused.status}`);

  const mailsBefore = (await asleepMails()).length;
  const slept = await api('POST', `/connections/${id}/sleep`, 'operator');
  // sleep e-mails are rationed (one per 15 minutes), so this one may not be sent; if it is, it has no link
  const manualMail = (await asleepMails()).slice(mailsBefore).at(-1);
  const manualHasLink = /\/wake-links\//.test(manualMail?.body.text ?? '');
  console.log(
    `  POST /connections/${id}/sleep (operator) -> ${slept.status}, state ${slept.json?.state}; ${
      manualMail
        ? `its e-mail has ${manualHasLink ? 'a' : 'no'} wake link`
        : 'not e-mailed (one sleep e-mail per 15 min)'
    }`,
  );
  const woke = await api('POST', `/connections/${id}/wake`, 'operator');
  console.log(`  POST /connections/${id}/wake (operator) -> ${woke.status}, state ${woke.json?.state}`);
  const usage = await api('GET', `/connections/${id}/usage?format=csv`, 'viewer');
  const lines = usage.text.trim().split('\r\n');
  console.log(
    `  GET /connections/${id}/usage?format=csv (viewer) -> ${lines.length - 1} hourly rows; this hour: ${lines.at(-1)}`,
  );
  return [
    [`API without a token refused: ${anonymous.status}`, anonymous.status === 401],
    [`a viewer token may not put it to sleep: ${viewerSleep.status}`, viewerSleep.status === 403],
    [
      `a burst past the sleep threshold -> asleep with an alert e-mail carrying a wake link`,
      link !== '' && page.status === 200 && /Wake/.test(page.text),
    ],
    [
      'wake link: opening it changed nothing; confirming with usage still high -> 409, asleep again',
      confirmed.status === 409 && after?.state === 'asleep',
    ],
    [
      `resumed by itself once the burst aged out; the used link -> ${reused.status}`,
      resumed?.state === 'awake' && reused.status === 410,
    ],
    [
      'a sleep by hand: no wake link e-mailed for it, woken by an operator',
      slept.json?.state === 'asleep' && !manualHasLink && woke.status === 200 && woke.json?.state === 'awake',
    ],
  ];
}
