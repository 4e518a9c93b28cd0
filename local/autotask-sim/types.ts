/** The public shape of the Autotask simulator (re-exported by index.ts). */

export interface SimUser {
  username: string;
  secret: string;
  integrationCode: string;
}

export interface OtherIntegrations {
  /** Average requests per `windowSeconds` from integrations that are not ours; 0 = none. */
  requestsPerWindow: number;
  /** Record them in bursts every `burstEverySeconds` instead of spread evenly. */
  bursty?: boolean;
  /** Default: a tenth of the window, at least 1 s. */
  burstEverySeconds?: number;
}

export interface SimOptions {
  /** Requests per rolling window per database (Autotask: 10,000 per 60 minutes). Default 10000. */
  limit?: number;
  /** Length of the rolling window. Default 3600. */
  windowSeconds?: number;
  /** Multiplies the +0.5 s (window total >= 50 % of the limit) and +1 s (>= 75 %) steps. Default 1; 0 disables. */
  latencyScale?: number;
  /** Added to every answer. Default 5. */
  baseLatencyMs?: number;
  /** Concurrent requests per integration code per endpoint. Default 3. */
  threadLimit?: number;
  /** Accepted credentials. Default: `[DEFAULT_SIM_USER]`. */
  users?: SimUser[];
  /** Synthetic load from other integrations sharing the database's cap. Default none. */
  otherIntegrations?: OtherIntegrations;
  /** Seeded tickets, ids 1..n. Default 1200 (queries page at 500). */
  seedTickets?: number;
}

export type SimKnobs = Required<Omit<SimOptions, 'otherIntegrations'>> & {
  otherIntegrations: Required<OtherIntegrations>;
};

export type SimOutcome = 'ok' | 'error' | 'throttled' | 'thread-limit' | 'fault';

export interface SimCall {
  seq: number;
  /** ms epoch at receipt. */
  at: number;
  /** ms epoch when the answer was sent or the connection closed; 0 while in flight. */
  doneAt: number;
  method: string;
  /** The URL path as received, without the query string. */
  path: string;
  /** Thread-limit key, e.g. `Tickets` or `Tickets/Notes` (see endpoint.ts). */
  endpoint: string;
  source: 'ours' | 'other';
  integrationCode: string;
  /** HTTP status sent; 0 while in flight or when no answer was sent (timeout/reset faults). */
  status: number;
  outcome: SimOutcome;
  /** Whether it counts against the cap (refused and unauthenticated requests do not). */
  countedInWindow: boolean;
  /** Counted requests in the window at receipt, including this one when it is counted. */
  windowTotalAtReceipt: number;
}

export type SimFaultKind = 'http500' | 'timeout' | 'reset' | 'http400';

export interface SimFault {
  /** `pathPrefix` matches case-insensitively against the full path (`/atservicesrest/v1.0/Tickets`) or the path below v1.0 (`/Tickets`). */
  match?: { method?: string; pathPrefix?: string };
  /** How many matching requests get the fault. */
  count: number;
  /** http500/http400: an errors envelope; timeout: hold 60 s then close without answer; reset: destroy the socket. */
  kind: SimFaultKind;
}

export interface SimUsage {
  limit: number;
  windowSeconds: number;
  windowTotal: number;
  ours: number;
  others: number;
  maxRollingWindow: number;
  maxRollingWindowOurs: number;
  throttled429: number;
  threadLimited: number;
}

export interface AutotaskSimulator {
  /** e.g. `http://127.0.0.1:PORT`; the zone base is `${url}/atservicesrest/`. */
  url: string;
  /** `${url}/atservicesrest`: GET `${zoneDiscoveryUrl}/v1.0/zoneInformation?user=...`. */
  zoneDiscoveryUrl: string;
  /** API requests (zone look-ups excluded, see `zoneLookups`), oldest first, including in-flight ones. */
  calls(filter?: { source?: 'ours' | 'other'; sinceSeq?: number }): SimCall[];
  /** Zone look-ups (not counted, not thread-limited). */
  zoneLookups(): SimCall[];
  /** Counted requests in (at - window, at]; default now. */
  windowTotal(at?: number): number;
  /** The most counted requests in any rolling window over the log, for calls received in [from, to]. */
  maxInRollingWindow(opts?: { source?: 'ours' | 'other' | 'all'; from?: number; to?: number }): number;
  usage(): SimUsage;
  setKnobs(k: Partial<SimOptions>): void;
  knobs(): SimKnobs;
  injectFault(f: SimFault): void;
  /** Instantly record n requests from other integrations (counted; refused like any request once the cap is reached). */
  addOtherCalls(n: number): void;
  /** Clear the log, counters and faults; keep the data. */
  reset(): void;
  stop(): Promise<void>;
}
