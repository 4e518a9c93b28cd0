/**
 * The thread-limit key of an Autotask REST path: Autotask allows `threadLimit` (3) concurrent
 * requests per API tracking identifier per object endpoint. The key is the path after `/v1.0/`
 * (a leading `/v1.0` or `/atservicesrest/v1.0` is removed) without numeric ids or `{...}`
 * placeholders, without `query` and `count`, and without `entityInformation` and whatever follows it.
 *
 *   /Tickets/123 -> Tickets, /Tickets/query/count -> Tickets, /Tickets/42/Notes -> Tickets/Notes
 *
 * The governor's client keys its thread slots by the same rule (shared/autotask/paths.ts); this is
 * the simulator's own copy on purpose, so the simulator stays an independent check of the client.
 * Casing is kept as given; the simulator feeds it the swagger's template, so keys are canonical.
 */
const DROPPED = new Set(['query', 'count']);
const PREFIX = /^\/?(?:atservicesrest\/)?v1\.0(?:\/|$)/i;

export const endpointOf = (path: string): string => {
  const bare = (path.split('?')[0] ?? '').replace(PREFIX, '/');
  const kept: string[] = [];
  for (const segment of bare.split('/')) {
    if (segment === '' || segment === '..' || /^[0-9]+$/.test(segment) || segment.startsWith('{')) continue;
    const lower = segment.toLowerCase();
    if (lower === 'entityinformation' && kept.length > 0) break;
    if (!DROPPED.has(lower)) kept.push(segment);
  }
  return kept.join('/');
};
