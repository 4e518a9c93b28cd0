import middy from '@middy/core';
import { buildSyncDeps } from '#functions/sync/deps.ts';
import type { ConnectionListing } from '#shared/connections/store.ts';
import { superviseConnection } from '#shared/usage/supervise.ts';

const deps = buildSyncDeps();
// A new or changed connection is picked up within 5 s: one read of the connections' index item,
// and the settings themselves only when the index's version says something changed.
const LIST_TTL_MS = 5_000;
let listed: { at: number; listing: ConnectionListing } | undefined;

/** EventBridge schedule (every minute in AWS; every bucket on the local stack): sync every enabled
 *  connection that is due, then let its state machine sleep, wake or warn. */
const run = async () => {
  if (!listed || Date.now() - listed.at > LIST_TTL_MS)
    listed = { at: Date.now(), listing: await deps.store.listSince(listed?.listing) };
  const outcomes = await Promise.allSettled(
    listed.listing.connections.filter((c) => c.enabled).map((c) => superviseConnection(c, deps)),
  );
  for (const o of outcomes)
    if (o.status === 'rejected') deps.log.error('connection not supervised', { error: o.reason });
  const synced = outcomes.filter((o) => o.status === 'fulfilled' && o.value.status === 'synced').length;
  return { synced, connections: outcomes.length };
};

export const handler = middy(run);
