import { buildAlertingStateMachine, buildParkedJobs } from '#functions/common/alerting.ts';
import { AutotaskHttpClient } from '#shared/autotask/client.ts';
import { AUTOTASK_ZONE_DISCOVERY_URL } from '#shared/autotask/zones.ts';
import { dynamo } from '#shared/aws/dynamo.ts';
import { secretsManager } from '#shared/aws/secrets.ts';
import { DynamoBudgetStore } from '#shared/budget/dynamo-budget.ts';
import { optionalEnv, requireEnv } from '#shared/config/env.ts';
import { envNames } from '#shared/config/resources.ts';
import { CachedConnections } from '#shared/connections/cached-store.ts';
import { SecretsManagerCredentials } from '#shared/connections/credentials.ts';
import type { Connection } from '#shared/connections/model.ts';
import { DynamoConnectionStore } from '#shared/connections/store.ts';
import { logger } from '#shared/observability/logger.ts';
import { HourlyUsage } from '#shared/usage/hourly.ts';
import type { SuperviseDeps } from '#shared/usage/supervise.ts';

export const buildSyncDeps = (): SuperviseDeps & { store: DynamoConnectionStore } => {
  const tableName = requireEnv(envNames.tableName);
  const store = new DynamoConnectionStore(dynamo, tableName);
  const autotask = new AutotaskHttpClient({
    zoneDiscoveryUrl: optionalEnv(envNames.zoneDiscoveryUrl, AUTOTASK_ZONE_DISCOVERY_URL),
  });
  const cached = new CachedConnections(store, { allowsZone: autotask.allowsZone });
  const zoneFor = (connection: Connection): Promise<string> =>
    cached.zoneFor(connection, () => autotask.discoverZone(connection.apiUser));
  const log = logger.child({ function: 'sync' });
  const budget = new DynamoBudgetStore(dynamo, tableName);
  const parked = buildParkedJobs();
  return {
    store,
    dynamo,
    tableName,
    budget,
    autotask,
    credentials: new SecretsManagerCredentials(secretsManager, requireEnv(envNames.connectionSecretPrefix)),
    zoneFor,
    states: buildAlertingStateMachine(tableName, budget, log, undefined, parked),
    parked,
    hourly: new HourlyUsage(dynamo, tableName, budget),
    dueAt: new Map(),
    sweptAt: new Map(),
    log,
  };
};
