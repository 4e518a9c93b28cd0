import { SesMailer } from '#shared/alerts/mailer.ts';
import { HmacWakeLinks, signingKeyFromSecret } from '#shared/auth/wake-links.ts';
import { dynamo } from '#shared/aws/dynamo.ts';
import { secretsManager } from '#shared/aws/secrets.ts';
import { ses } from '#shared/aws/ses.ts';
import { sqs } from '#shared/aws/sqs.ts';
import type { BudgetStore } from '#shared/budget/store.ts';
import { optionalEnv, requireEnv } from '#shared/config/env.ts';
import { envNames } from '#shared/config/resources.ts';
import { ConnectionStateMachine } from '#shared/connections/state-machine.ts';
import { DynamoStateStore } from '#shared/connections/state-store.ts';
import { SqsParkedJobs } from '#shared/jobs/parking.ts';
import type { Logger } from '#shared/observability/logger.ts';
import { readLastSync } from '#shared/usage/threshold-sync.ts';

/** Wake links for the functions that sign or check them (sync and API), from the environment. */
export const buildWakeLinks = (tableName: string): HmacWakeLinks =>
  new HmacWakeLinks(
    signingKeyFromSecret(secretsManager, requireEnv(envNames.wakeLinkSecretArn)),
    dynamo,
    tableName,
  );

/** The parked jobs the functions that wake connections (sync and API) hand back. */
export const buildParkedJobs = (): SqsParkedJobs =>
  new SqsParkedJobs(sqs, {
    parked: requireEnv(envNames.parkedQueueUrl),
    delay: requireEnv(envNames.delayQueueUrl),
  });

/**
 * The state machine of the functions that may e-mail and wake (sync and API): SES sender, wake
 * links, admins, and the parked jobs a wake hands back.
 */
export const buildAlertingStateMachine = (
  tableName: string,
  budget: BudgetStore,
  log: Logger,
  wakeLinks = buildWakeLinks(tableName),
  parked: SqsParkedJobs = buildParkedJobs(),
): ConnectionStateMachine => {
  const publicApiUrl = optionalEnv(envNames.publicApiUrl, '');
  return new ConnectionStateMachine({
    store: new DynamoStateStore(dynamo, tableName),
    budget,
    mailer: new SesMailer(ses, requireEnv(envNames.senderEmail)),
    wakeLinks,
    parked,
    lastReading: (connectionId) => readLastSync(dynamo, tableName, connectionId),
    ...(publicApiUrl ? { publicApiUrl } : {}),
    defaultRecipients: optionalEnv(envNames.alertRecipients, '')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
    log,
  });
};
