/** The simulator's settings: defaults and how a change is validated (server.ts applies them). */
import type { SimKnobs, SimOptions, SimUser } from '#local/autotask-sim/types.ts';

/** Accepted when `users` is not given. */
export const DEFAULT_SIM_USER: SimUser = {
  username: 'api-user@sim.example',
  secret: 'sim-secret',
  integrationCode: 'SIM-INTEGRATION',
};

export const DEFAULT_KNOBS: SimKnobs = {
  limit: 10_000,
  windowSeconds: 3600,
  latencyScale: 1,
  baseLatencyMs: 5,
  threadLimit: 3,
  users: [DEFAULT_SIM_USER],
  otherIntegrations: { requestsPerWindow: 0, bursty: false, burstEverySeconds: 0 },
  seedTickets: 1200,
};

export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Current knobs with `k` applied; throws on a value the simulator cannot run with. */
export const mergeKnobs = (current: SimKnobs, k: Partial<SimOptions>): SimKnobs => {
  const next: SimKnobs = { ...current, otherIntegrations: { ...current.otherIntegrations } };
  const numeric = (
    name: 'limit' | 'windowSeconds' | 'latencyScale' | 'baseLatencyMs' | 'threadLimit' | 'seedTickets',
    min: number,
  ) => {
    const v = k[name];
    if (v === undefined) return;
    if (!isFiniteNumber(v) || v < min)
      throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(v)}`);
    next[name] = v;
  };
  numeric('limit', 1);
  numeric('windowSeconds', 0.001);
  numeric('latencyScale', 0);
  numeric('baseLatencyMs', 0);
  numeric('threadLimit', 1);
  numeric('seedTickets', 0);
  next.limit = Math.floor(next.limit);
  next.threadLimit = Math.floor(next.threadLimit);
  next.seedTickets = Math.floor(next.seedTickets);
  if (k.users !== undefined) {
    const valid =
      Array.isArray(k.users) &&
      k.users.every(
        (u) =>
          typeof u?.username === 'string' &&
          typeof u.secret === 'string' &&
          typeof u.integrationCode === 'string',
      );
    if (!valid) throw new Error('users must be an array of {username, secret, integrationCode}');
    next.users = k.users.map((u) => ({
      username: u.username,
      secret: u.secret,
      integrationCode: u.integrationCode,
    }));
  }
  if (k.otherIntegrations !== undefined) {
    const o = k.otherIntegrations;
    if (
      typeof o !== 'object' ||
      o === null ||
      !isFiniteNumber(o.requestsPerWindow) ||
      o.requestsPerWindow < 0
    ) {
      throw new Error('otherIntegrations.requestsPerWindow must be a number >= 0');
    }
    if (
      o.burstEverySeconds !== undefined &&
      (!isFiniteNumber(o.burstEverySeconds) || o.burstEverySeconds <= 0)
    ) {
      throw new Error('otherIntegrations.burstEverySeconds must be a number > 0');
    }
    next.otherIntegrations = {
      requestsPerWindow: o.requestsPerWindow,
      bursty: o.bursty === true,
      burstEverySeconds: o.burstEverySeconds ?? 0,
    };
  }
  return next;
};
