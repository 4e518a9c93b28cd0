/**
 * Where Autotask requests (and so the API user's secret) may go. A zone URL is
 * `https://webservices<N>.autotask.net/atservicesrest/`, as zone discovery answers it; nothing else
 * is Autotask. The one exception is a zone-discovery base configured elsewhere (the local stack's
 * simulator, a test): zones on that same origin are allowed too, since the deployer chose it.
 * Checked when a zone is written (settings, discovery) and again before every request.
 */
const AUTOTASK_ZONE = /^https:\/\/webservices\d{1,3}\.autotask\.net\/atservicesrest\/?$/i;
const AUTOTASK_DISCOVERY_ORIGIN = 'https://webservices.autotask.net';
/** Where zone look-ups go unless the deployment says otherwise (ZONE_DISCOVERY_URL). */
export const AUTOTASK_ZONE_DISCOVERY_URL = `${AUTOTASK_DISCOVERY_ORIGIN}/atservicesrest`;

export const ZONE_URL_FORM = 'https://webservices<N>.autotask.net/atservicesrest/';

/** An Autotask zone host, whatever the deployment: the only zone an operator may set by hand. */
export const isAutotaskZone = (url: string): boolean => AUTOTASK_ZONE.test(url);

const originOf = (url: string): string | undefined => {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password || parsed.search || parsed.hash) return undefined;
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
};

/** The zones requests may go to, for a deployment whose zone discovery is at `discoveryUrl`. */
export const zonePolicy = (discoveryUrl: string): ((zoneUrl: string) => boolean) => {
  const configured = originOf(discoveryUrl);
  const extra = configured && configured !== AUTOTASK_DISCOVERY_ORIGIN ? configured : undefined;
  return (zoneUrl) => isAutotaskZone(zoneUrl) || (extra !== undefined && originOf(zoneUrl) === extra);
};
