/**
 * Named errors. Each one maps to exactly one queue outcome (see functions/worker) or HTTP status
 * (see functions/api) in one place, so domain code only has to throw the right one.
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly reason: string = 'invalid-job',
  ) {
    super(message);
  }
}

/** Not a failure: the job waits for budget. `retryAt` is when the rolling window has room for it. */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
  constructor(
    readonly retryAt: number,
    readonly why: string,
  ) {
    super(`throttled until ${new Date(retryAt).toISOString()}: ${why}`);
  }
}

export type AutotaskErrorKind = 'throttled' | 'thread-limit' | 'client' | 'server' | 'timeout' | 'network';

/** An Autotask call that did not succeed. `kind` says what the governor does about it. */
export class AutotaskError extends Error {
  override readonly name = 'AutotaskError';
  constructor(
    readonly kind: AutotaskErrorKind,
    message: string,
    readonly status?: number,
    readonly errors: string[] = [],
    readonly body?: unknown,
  ) {
    super(message);
  }

  /** 5xx, timeouts and network faults are worth retrying; 4xx and `{"errors":[...]}` answers are not. */
  get retryable(): boolean {
    return this.kind === 'server' || this.kind === 'timeout' || this.kind === 'network';
  }
}

/** Configuration the process cannot run without. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
