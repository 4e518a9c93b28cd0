/**
 * `npm run local`: the whole stack on this machine until Ctrl-C. Endpoints land in .local/stack.json.
 * Knobs: LIMIT, WINDOW_SECONDS (connection and simulator), OTHER_PER_WINDOW (other integrations' load).
 */
import { startLocalGovernor } from '#local/governor.ts';
import { writeStackFile } from '#local/stack-file.ts';

const limit = Number(process.env.LIMIT ?? 10_000);
const windowSeconds = Number(process.env.WINDOW_SECONDS ?? 3600);
const otherPerWindow = Number(process.env.OTHER_PER_WINDOW ?? 0);

const gov = await startLocalGovernor({
  simulator: {
    limit,
    windowSeconds,
    ...(otherPerWindow > 0 ? { otherIntegrations: { requestsPerWindow: otherPerWindow, bursty: true } } : {}),
  },
  connection: { limit, windowSeconds },
  logLevel: (process.env.LOG_LEVEL as 'info' | undefined) ?? 'info',
});
const stack = await writeStackFile(gov);
console.log(`autotask-governor local stack is up (limit ${limit} per ${windowSeconds} s). Ctrl-C stops it.`);
console.log(
  JSON.stringify(
    {
      queueUrls: stack.queueUrls,
      endpoints: stack.endpoints,
      connectionId: stack.connectionId,
      apiUrl: stack.apiUrl,
      consoleUrl: stack.consoleUrl,
    },
    null,
    2,
  ),
);
console.log('Wrote .local/stack.json. Send a job:');
console.log(
  `  aws --endpoint-url ${gov.emulators.endpoints.sqs} --region ${gov.emulators.region} sqs send-message --queue-url ${gov.resources.queueUrls.jobs} \\\n` +
    `    --message-body '{"jobId":"hello-1","connectionId":"${gov.connectionId}","request":{"method":"GET","path":"/Tickets/1"}}'`,
);

console.log(`\nThe operators' console: ${stack.consoleUrl}`);
console.log('  sign in with a token: npm run token -- create --name me --role operator --local');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping...');
  await gov.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
