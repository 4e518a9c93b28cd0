/** What every finished job publishes (README "Results"). */
export interface JobResult {
  jobId: string;
  connectionId: string;
  status: 'succeeded' | 'failed';
  httpStatus: number | null;
  response?: unknown;
  error?: { kind: string; message: string; errors?: string[] };
  /** Autotask requests this job made (query pages each count). */
  calls: number;
  /** Executions that hit an Autotask/network fault and were retried (throttling does not count). */
  attempts: number;
  /** Time between the job first reaching the governor and its completion. */
  waitedMs: number;
  completedAt: string;
  /** Set when a query stopped before its last page (maxPages reached or the result grew too big). */
  truncated?: boolean;
  nextPage?: { method: string; path: string; query?: Record<string, string> };
}

/** Reasons a job lands in the dead-letter queue (message attribute `reason`). */
export type DeadLetterReason =
  | 'invalid-json'
  | 'invalid-job'
  | 'invalid-path'
  | 'unknown-connection'
  | 'connection-disabled'
  | 'expired'
  | 'autotask-unavailable'
  | 'outcome-unknown'
  | 'configuration-error'
  /** `replyTo` is not one of the stack's reply queues (REPLY_QUEUE_URLS): refused before any call. */
  | 'reply-not-allowed'
  /** Autotask answered but the result could not be published: it travels in attribute `gov-result`. */
  | 'result-undeliverable';
