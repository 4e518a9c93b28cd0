import { AutotaskHttpClient } from '#shared/autotask/client.ts';
import { matchPath } from '#shared/autotask/paths.ts';
import { AUTOTASK_ZONE_DISCOVERY_URL } from '#shared/autotask/zones.ts';
import { dynamo } from '#shared/aws/dynamo.ts';
import { secretsManager } from '#shared/aws/secrets.ts';
import { sqs } from '#shared/aws/sqs.ts';
import { DynamoBudgetStore } from '#shared/budget/dynamo-budget.ts';
import { numberEnv, optionalEnv, requireEnv } from '#shared/config/env.ts';
import { envNames } from '#shared/config/resources.ts';
import { CachedConnections } from '#shared/connections/cached-store.ts';
import { SecretsManagerCredentials } from '#shared/connections/credentials.ts';
import { ConnectionStateMachine } from '#shared/connections/state-machine.ts';
import { DynamoStateStore } from '#shared/connections/state-store.ts';
import { DynamoConnectionStore } from '#shared/connections/store.ts';
import { DynamoExecutionStore } from '#shared/jobs/executions.ts';
import { SqsJobQueue } from '#shared/jobs/queue.ts';
import type { RunJobDeps } from '#shared/jobs/run-job.ts';
import { parseReplyQueueUrls } from '#shared/jobs/schema.ts';
import { logger } from '#shared/observability/logger.ts';

/** Built once per container from the environment, failing fast with the missing variable's name. */
export const buildWorkerDeps = (): RunJobDeps => {
  const tableName = requireEnv(envNames.tableName);
  const budget = new DynamoBudgetStore(dynamo, tableName);
  const log = logger.child({ function: 'worker' });
  // No mailer here (SES stays out of the worker's bundle): the sleep e-mail waits in the state's
  // outbox and the sync sends it within a minute.
  const states = new ConnectionStateMachine({ store: new DynamoStateStore(dynamo, tableName), budget, log });
  const autotask = new AutotaskHttpClient({
    zoneDiscoveryUrl: optionalEnv(envNames.zoneDiscoveryUrl, AUTOTASK_ZONE_DISCOVERY_URL),
  });
  return {
    connections: new CachedConnections(new DynamoConnectionStore(dynamo, tableName), {
      allowsZone: autotask.allowsZone,
    }),
    credentials: new SecretsManagerCredentials(secretsManager, requireEnv(envNames.connectionSecretPrefix)),
    budget,
    autotask,
    queue: new SqsJobQueue(sqs, {
      delay: requireEnv(envNames.delayQueueUrl),
      parked: requireEnv(envNames.parkedQueueUrl),
      results: requireEnv(envNames.resultsQueueUrl),
      deadLetter: requireEnv(envNames.deadLetterQueueUrl),
    }),
    executions: new DynamoExecutionStore(dynamo, tableName),
    matchPath,
    replyQueueUrls: parseReplyQueueUrls(process.env[envNames.replyQueueUrls]),
    log,
    batchingWindowMs: 1000 * Math.max(0, numberEnv(envNames.batchingWindowSeconds, 0)),
    onThrottled429: async (connection) => {
      await states.sleep(connection, 'Autotask answered 429 (threshold exceeded)', 'worker', false);
    },
  };
};
