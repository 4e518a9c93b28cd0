/**
 * A simulated Autotask REST API on loopback, in-process: the real paths and envelopes (checked
 * against a swagger-derived fixture), the rolling-window cap with 429s, the added latency near the
 * cap, the 3-thread limit per endpoint, other integrations' load and injectable faults.
 * See requests.ts for the rules and their unconfirmed corners.
 */
export { endpointOf } from '#local/autotask-sim/endpoint.ts';
export { DEFAULT_SIM_USER } from '#local/autotask-sim/knobs.ts';
export { type EnvelopeKind, envelopeKindOf } from '#local/autotask-sim/routes.ts';
export { startAutotaskSimulator } from '#local/autotask-sim/server.ts';
export type {
  AutotaskSimulator,
  OtherIntegrations,
  SimCall,
  SimFault,
  SimFaultKind,
  SimKnobs,
  SimOptions,
  SimOutcome,
  SimUsage,
  SimUser,
} from '#local/autotask-sim/types.ts';
