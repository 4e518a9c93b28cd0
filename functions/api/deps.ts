import { DescribeSecretCommand, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { buildAlertingStateMachine, buildWakeLinks } from '#functions/common/alerting.ts';
import { DynamoTokenStore } from '#shared/auth/tokens.ts';
import { matchPath } from '#shared/autotask/paths.ts';
import { dynamo } from '#shared/aws/dynamo.ts';
import { secretsManager } from '#shared/aws/secrets.ts';
import { sqs } from '#shared/aws/sqs.ts';
import { DynamoBudgetStore } from '#shared/budget/dynamo-budget.ts';
import { requireEnv } from '#shared/config/env.ts';
import { envNames } from '#shared/config/resources.ts';
import { DynamoConnectionStore } from '#shared/connections/store.ts';
import { ValidationError } from '#shared/errors.ts';
import { JobIntake, queueDepths } from '#shared/jobs/intake.ts';
import { parseReplyQueueUrls } from '#shared/jobs/schema.ts';
import { logger } from '#shared/observability/logger.ts';
import { HourlyUsage } from '#shared/usage/hourly.ts';
import { readLastSync } from '#shared/usage/threshold-sync.ts';
import type { ApiDeps } from './routes.ts';

/** Built once per container from the environment, failing fast with the missing variable's name. */
export const buildApiDeps = (): ApiDeps => {
  const tableName = requireEnv(envNames.tableName);
  const jobsQueueUrl = requireEnv(envNames.jobsQueueUrl);
  const delayQueueUrl = requireEnv(envNames.delayQueueUrl);
  const log = logger.child({ function: 'api' });
  const connections = new DynamoConnectionStore(dynamo, tableName);
  const budget = new DynamoBudgetStore(dynamo, tableName);
  const wakeLinks = buildWakeLinks(tableName);
  return {
    connections,
    budget,
    states: buildAlertingStateMachine(tableName, budget, log, wakeLinks),
    tokens: new DynamoTokenStore(dynamo, tableName),
    wakeLinks,
    hourly: new HourlyUsage(dynamo, tableName, budget),
    intake: new JobIntake(
      sqs,
      jobsQueueUrl,
      connections,
      { matchPath, replyQueueUrls: parseReplyQueueUrls(process.env[envNames.replyQueueUrls]) },
      requireEnv(envNames.criticalQueueUrl),
    ),
    queueDepths: () =>
      queueDepths(sqs, {
        jobsQueue: jobsQueueUrl,
        criticalQueue: requireEnv(envNames.criticalQueueUrl),
        delayQueue: delayQueueUrl,
        parkedQueue: requireEnv(envNames.parkedQueueUrl),
      }),
    lastReading: (connectionId) => readLastSync(dynamo, tableName, connectionId),
    connectionSecretPrefix: requireEnv(envNames.connectionSecretPrefix),
    secretExists: async (secretRef) => {
      try {
        await secretsManager.send(new DescribeSecretCommand({ SecretId: secretRef }));
        return true;
      } catch (err) {
        if (err instanceof ResourceNotFoundException) return false;
        if ((err as { name?: string }).name === 'AccessDeniedException')
          throw new ValidationError(
            `secretRef: the governor may not read "${secretRef}"; connection secrets live under the stack's ConnectionSecretsPrefix (autotask-governor/<stage>/connections/)`,
            'invalid-settings',
          );
        throw err;
      }
    },
    log,
  };
};
