import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LocalGovernor } from '#local/governor.ts';

/** `.local/stack.json`: every endpoint and name a developer needs to talk to the running local stack. */
export const writeStackFile = async (
  gov: LocalGovernor,
  extra: Record<string, unknown> = {},
  path = '.local/stack.json',
) => {
  const description = {
    region: gov.emulators.region,
    endpoints: {
      ...gov.emulators.endpoints,
      autotaskSimulator: gov.simulator.url,
      zoneDiscovery: gov.simulator.zoneDiscoveryUrl,
    },
    tableName: gov.resources.tableName,
    queueUrls: gov.resources.queueUrls,
    connectionId: gov.connectionId,
    /** The operators' API (bearer tokens) and its console (sign in with a token). */
    apiUrl: gov.apiUrl,
    consoleUrl: `${gov.apiUrl}/console`,
    env: { ...gov.emulators.env, ...gov.resources.env },
    ...extra,
  };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(description, null, 2)}\n`);
  return description;
};
