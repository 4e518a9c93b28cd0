import { LOCAL_SECRET_PREFIX, LOCAL_USER, type LocalGovernor } from '#local/governor.ts';
import { putSecret } from '#local/secrets.ts';
import type { ConnectionSettingsInput } from '#shared/connections/model.ts';
import type { JobResult } from '#shared/jobs/result.ts';

/** Another connection to the same simulated database, with its own budget and its own secret. */
export const addConnection = async (
  gov: LocalGovernor,
  connectionId: string,
  settings: Partial<ConnectionSettingsInput> = {},
) => {
  const { dynamo } = await import('#shared/aws/clients.ts');
  const { DynamoConnectionStore } = await import('#shared/connections/store.ts');
  const secretRef = `${LOCAL_SECRET_PREFIX}${connectionId}`;
  await putSecret(secretRef, { secret: LOCAL_USER.secret });
  return new DynamoConnectionStore(dynamo, gov.resources.tableName).put(connectionId, {
    apiUser: LOCAL_USER.username,
    integrationCode: LOCAL_USER.integrationCode,
    secretRef,
    ...settings,
  });
};

/** Results and dead letters as they arrive, keyed by job id. */
export const collector = (gov: LocalGovernor) => {
  const results = new Map<string, JobResult & { receivedAt: number }>();
  const dead = new Map<string, { reason: string; error: string }>();
  const poll = async () => {
    for (const m of await gov.drain(gov.resources.queueUrls.results, 1)) {
      const r = JSON.parse(m.Body ?? '{}') as JobResult;
      results.set(r.jobId, { ...r, receivedAt: Date.now() });
    }
    for (const m of await gov.drain(gov.resources.queueUrls.deadLetter)) {
      const id = /"jobId":\s*"([^"]+)"/.exec(m.Body ?? '')?.[1] ?? `unparseable-${dead.size}`;
      dead.set(id, {
        reason: m.MessageAttributes?.['gov-reason']?.StringValue ?? '',
        error: m.MessageAttributes?.['gov-error']?.StringValue ?? '',
      });
    }
  };
  const until = async (done: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!done() && Date.now() < deadline) await poll();
  };
  return { results, dead, poll, until };
};
