import { DescribeSecretCommand, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { buildAlertingStateMachine, buildWakeLinks } from '#functions/common/alerting.ts';
import { DynamoSessionStore } from '#shared/auth/sessions.ts';
import { DynamoTokenStore } from '#shared/auth/tokens.ts';
import { dynamo } from '#shared/aws/dynamo.ts';
import { secretsManager } from '#shared/aws/secrets.ts';
import { sqs } from '#shared/aws/sqs.ts';
import { DynamoBudgetStore } from '#shared/budget/dynamo-budget.ts';
import { optionalEnv, requireEnv } from '#shared/config/env.ts';
import { envNames } from '#shared/config/resources.ts';
import { DynamoConnectionStore } from '#shared/connections/store.ts';
import { ValidationError } from '#shared/errors.ts';
import { JobIntake, queueDepths } from '#shared/jobs/intake.ts';
import { parseReplyQueueUrls } from '#shared/jobs/schema.ts';
import { logger } from '#shared/observability/logger.ts';
import { HourlyUsage } from '#shared/usage/hourly.ts';
import { readLastSync } from '#shared/usage/threshold-sync.ts';
import type { ApiDeps } from './ports.ts';

/**
 * The job intake checks paths against the Autotask allowlist (a 73 KB table built into a lookup map):
 * loaded at the first `POST /jobs` rather than at every cold start, since most calls never need it.
 */
const lazyIntake = (build: () => Promise<JobIntake>): Pick<JobIntake, 'submit'> => {
  let intake: Promise<JobIntake> | undefined;
  return {
    submit: async (items) => {
      intake ??= build().catch((err: unknown) => {
        intake = undefined; // the next request tries again
        throw err;
      });
      return (await intake).submit(items);
    },
  };
};

/** Built once per container from the environment, failing fast with the missing variable's name. */
export const buildApiDeps = (): ApiDeps => {
  const tableName = requireEnv(envNames.tableName);
  const jobsQueueUrl = requireEnv(envNames.jobsQueueUrl);
  const delayQueueUrl = requireEnv(envNames.delayQueueUrl);
  const criticalQueueUrl = requireEnv(envNames.criticalQueueUrl);
  const log = logger.child({ function: 'api' });
  const connections = new DynamoConnectionStore(dynamo, tableName);
  const budget = new DynamoBudgetStore(dynamo, tableName);
  const wakeLinks = buildWakeLinks(tableName);
  return {
    connections,
    budget,
    states: buildAlertingStateMachine(tableName, budget, log, wakeLinks),
    tokens: new DynamoTokenStore(dynamo, tableName),
    sessions: new DynamoSessionStore(dynamo, tableName),
    wakeLinks,
    hourly: new HourlyUsage(dynamo, tableName, budget),
    intake: lazyIntake(() =>
      import('#shared/autotask/paths.ts').then(
        ({ matchPath }) =>
          new JobIntake(
            sqs,
            jobsQueueUrl,
            connections,
            { matchPath, replyQueueUrls: parseReplyQueueUrls(process.env[envNames.replyQueueUrls]) },
            criticalQueueUrl,
          ),
      ),
    ),
    queueDepths: () =>
      queueDepths(sqs, {
        jobsQueue: jobsQueueUrl,
        criticalQueue: criticalQueueUrl,
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
    // 15 s in a deployed stack; tests shorten it to see the page follow the sync
    consoleRefreshSeconds: Math.max(1, Number(optionalEnv('CONSOLE_REFRESH_SECONDS', '15')) || 15),
    log,
  };
};
