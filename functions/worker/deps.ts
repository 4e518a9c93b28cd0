import { AutotaskHttpClient } from '#shared/autotask/client.ts';
import { matchPath } from '#shared/autotask/paths.ts';
import { dynamo } from '#shared/aws/dynamo.ts';
import { secretsManager } from '#shared/aws/secrets.ts';
import { sqs } from '#shared/aws/sqs.ts';
import { DynamoBudgetStore } from '#shared/budget/dynamo-budget.ts';
import { optionalEnv, requireEnv } from '#shared/config/env.ts';
import { envNames } from '#shared/config/resources.ts';
import { CachedConnections } from '#shared/connections/cached-store.ts';
import { SecretsManagerCredentials } from '#shared/connections/credentials.ts';
import { DynamoConnectionStore } from '#shared/connections/store.ts';
import { DynamoExecutionStore } from '#shared/jobs/executions.ts';
import { SqsJobQueue } from '#shared/jobs/queue.ts';
import type { RunJobDeps } from '#shared/jobs/run-job.ts';
import { logger } from '#shared/observability/logger.ts';

/** Built once per container from the environment, failing fast with the missing variable's name. */
export const buildWorkerDeps = (): RunJobDeps => {
  const tableName = requireEnv(envNames.tableName);
  return {
    connections: new CachedConnections(new DynamoConnectionStore(dynamo, tableName)),
    credentials: new SecretsManagerCredentials(secretsManager),
    budget: new DynamoBudgetStore(dynamo, tableName),
    autotask: new AutotaskHttpClient({
      zoneDiscoveryUrl: optionalEnv(
        envNames.zoneDiscoveryUrl,
        'https://webservices.autotask.net/atservicesrest',
      ),
    }),
    queue: new SqsJobQueue(sqs, {
      delay: requireEnv(envNames.delayQueueUrl),
      results: requireEnv(envNames.resultsQueueUrl),
      deadLetter: requireEnv(envNames.deadLetterQueueUrl),
    }),
    executions: new DynamoExecutionStore(dynamo, tableName),
    matchPath,
    log: logger.child({ function: 'worker' }),
  };
};
