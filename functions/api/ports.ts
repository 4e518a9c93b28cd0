import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Role } from '#shared/auth/roles.ts';
import type { Session, SessionStore } from '#shared/auth/sessions.ts';
import type { TokenStore } from '#shared/auth/tokens.ts';
import type { WakeLinks } from '#shared/auth/wake-links.ts';
import type { BudgetStore } from '#shared/budget/store.ts';
import type { ConnectionStateMachine } from '#shared/connections/state-machine.ts';
import type { ConnectionStore } from '#shared/connections/store.ts';
import type { JobIntake } from '#shared/jobs/intake.ts';
import type { Logger } from '#shared/observability/logger.ts';
import type { HourlyUsage } from '#shared/usage/hourly.ts';
import type { LastReading } from '#shared/usage/threshold-sync.ts';
import type { Result } from './http.ts';

/** What the API function's routes need, built once per container (functions/api/deps.ts). */
export interface ApiDeps {
  connections: Pick<ConnectionStore, 'get' | 'put' | 'list'>;
  budget: Pick<BudgetStore, 'snapshot'>;
  states: Pick<ConnectionStateMachine, 'status' | 'wake' | 'sleep'>;
  tokens: Pick<TokenStore, 'verify'>;
  /** The console's sign-in sessions. */
  sessions: SessionStore;
  wakeLinks: WakeLinks;
  hourly: Pick<HourlyUsage, 'report'>;
  intake: Pick<JobIntake, 'submit'>;
  queueDepths: () => Promise<Record<string, number>>;
  lastReading: (connectionId: string) => Promise<LastReading | undefined>;
  /** Rejects a secretRef that does not exist (Secrets Manager DescribeSecret). */
  secretExists: (secretRef: string) => Promise<boolean>;
  /** `autotask-governor/<stage>/connections/`: a connection's secret is this prefix + its id. */
  connectionSecretPrefix: string;
  /** How often an open console page refreshes its figures (seconds). */
  consoleRefreshSeconds: number;
  log: Logger;
  now?: () => number;
}

export interface Request {
  event: APIGatewayProxyEventV2;
  /** The path's `{...}` segments, in order, as sent (still URL-encoded). */
  params: string[];
  /** The token's name, or "wake link": recorded as "who" in transitions. */
  caller: string;
  /** The token's role (bearer and session routes). */
  role?: Role;
  /** The console session (session routes). */
  session?: Session;
}

export type Handler = (req: Request, deps: ApiDeps) => Promise<Result>;
