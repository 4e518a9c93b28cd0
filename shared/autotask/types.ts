/**
 * The contract between the governor and Autotask's REST API. The HTTP implementation lives in
 * `client.ts`; the local simulator (local/autotask-sim) serves the same wire format.
 */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface AutotaskCredentials {
  /** API user's user name (an e-mail address); also the key for zone discovery. */
  username: string;
  secret: string;
  /** The API tracking identifier ("ApiIntegrationCode" header). */
  integrationCode: string;
  impersonationResourceId?: number;
}

/** One HTTP request, `path` relative to `.../atservicesrest/v1.0` (e.g. `/Tickets/query`). */
export interface AutotaskCall {
  method: HttpMethod;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

export interface AutotaskReply {
  status: number;
  /** The parsed JSON envelope: `{item}`, `{items,pageDetails}`, `{itemId}`, `{queryCount}`, ... */
  body: unknown;
  /** For query pages with a `pageDetails.nextPageUrl`: the call that fetches the next page. */
  nextPage: AutotaskCall | null;
}

export interface SendOptions {
  timeoutMs?: number;
}

/** What the worker needs from Autotask. Errors are thrown as `AutotaskError` (shared/errors.ts). */
export interface AutotaskApi {
  /** Zone discovery: the zone's base URL, ending in `/atservicesrest/` (append `v1.0/`). */
  discoverZone(username: string): Promise<string>;
  send(
    zoneUrl: string,
    credentials: AutotaskCredentials,
    call: AutotaskCall,
    options?: SendOptions,
  ): Promise<AutotaskReply>;
}
