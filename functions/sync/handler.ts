import middy from '@middy/core';
import { buildSyncDeps } from '#functions/sync/deps.ts';
import { superviseConnection } from '#shared/usage/supervise.ts';

const deps = buildSyncDeps();
// A new or changed connection is picked up within 5 s (a Scan of the small settings items).
const LIST_TTL_MS = 5_000;
let listed: { at: number; connections: Awaited<ReturnType<typeof deps.store.list>> } | undefined;

/** EventBridge schedule (every minute in AWS; every bucket on the local stack): sync every enabled
 *  connection that is due, then let its state machine sleep, wake or warn. */
const run = async () => {
  if (!listed || Date.now() - listed.at > LIST_TTL_MS)
    listed = { at: Date.now(), connections: await deps.store.list() };
  const outcomes = await Promise.allSettled(
    listed.connections.filter((c) => c.enabled).map((c) => superviseConnection(c, deps)),
  );
  for (const o of outcomes)
    if (o.status === 'rejected') deps.log.error('connection not supervised', { error: o.reason });
  const synced = outcomes.filter((o) => o.status === 'fulfilled' && o.value.status === 'synced').length;
  return { synced, connections: outcomes.length };
};

export const handler = middy(run);
