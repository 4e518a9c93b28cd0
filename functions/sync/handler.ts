import middy from '@middy/core';
import { buildSyncDeps } from '#functions/sync/deps.ts';
import { syncConnection } from '#shared/usage/threshold-sync.ts';

const deps = buildSyncDeps();
// A new or changed connection is picked up within 5 s (a Scan of the small settings items).
const LIST_TTL_MS = 5_000;
let listed: { at: number; connections: Awaited<ReturnType<typeof deps.store.list>> } | undefined;

/** EventBridge schedule (every minute in AWS; every bucket on the local stack): sync every enabled connection that is due. */
const run = async () => {
  if (!listed || Date.now() - listed.at > LIST_TTL_MS)
    listed = { at: Date.now(), connections: await deps.store.list() };
  const outcomes = await Promise.all(
    listed.connections.filter((c) => c.enabled).map((c) => syncConnection(c, deps)),
  );
  return { synced: outcomes.filter((o) => o.status === 'synced').length, connections: outcomes.length };
};

export const handler = middy(run);
