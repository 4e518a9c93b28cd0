import { AUTOTASK_ZONE_DISCOVERY_URL } from '#shared/autotask/zones.ts';
import { workerEventSource } from '#shared/config/resources.ts';

/**
 * The stack's configuration, read from cdk.json context or `-c key=value` flags and validated up
 * front, so a typo fails `cdk synth` with the key's name instead of deploying something odd.
 * Values given with `-c` arrive as strings: numbers, booleans and lists are parsed from them
 * (a list as a JSON array or comma-separated).
 */
export interface GovernorConfig {
  /** Names resources and the connection-secret prefix `autotask-governor/<stage>/connections/`. */
  readonly stage: string;
  /** From address of alert e-mails; an SES identity for it is created unless createSenderIdentity is false. */
  readonly senderEmail: string;
  /** false when the address (or its domain) is already an SES identity in the account and region. */
  readonly createSenderIdentity: boolean;
  /** Admins who get every alert e-mail (ALERT_RECIPIENTS), besides each connection's own recipients. */
  readonly alertRecipients: readonly string[];
  /** Optional e-mail subscription to the alarm topic. */
  readonly alarmEmail: string | undefined;
  readonly workerBatchSize: number;
  /** Lambda's MaximumBatchingWindowInSeconds for both worker event sources (≥ 1 above 10 messages). */
  readonly workerBatchingWindowSeconds: number;
  readonly workerMaxConcurrency: number;
  readonly apiThrottleRate: number;
  readonly apiThrottleBurst: number;
  /** SQS queue ARNs jobs may name as `replyTo` (the worker may send to these and no others). */
  readonly replyQueueArns: readonly string[];
  readonly logRetentionDays: number;
  readonly logLevel: LogLevel;
  readonly zoneDiscoveryUrl: string;
  /** Allowed CORS origins of the HTTP API; CORS is off when empty. */
  readonly corsOrigins: readonly string[];
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const DEFAULT_ZONE_DISCOVERY_URL = AUTOTASK_ZONE_DISCOVERY_URL;

/** CloudWatch Logs accepts only these retention periods (9999 = never expire). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
  9999,
] as const;

export const CONTEXT_KEYS = [
  'stage',
  'senderEmail',
  'createSenderIdentity',
  'alertRecipients',
  'alarmEmail',
  'workerBatchSize',
  'workerBatchingWindowSeconds',
  'workerMaxConcurrency',
  'apiThrottleRate',
  'apiThrottleBurst',
  'replyQueueArns',
  'logRetentionDays',
  'logLevel',
  'zoneDiscoveryUrl',
  'corsOrigins',
] as const;

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    problem: string,
    got: unknown,
  ) {
    super(
      `Invalid context "${key}": ${problem} (got ${JSON.stringify(got) ?? String(got)}). Set it in cdk.json or with -c ${key}=...`,
    );
    this.name = 'ConfigError';
  }
}

const EMAIL =
  /^[^\s@<>(),;:"[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const STAGE = /^[a-z][a-z0-9-]{0,19}$/;
const SQS_ARN = /^arn:aws(?:-[a-z]+)*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,75}(?:\.fifo)?$/;
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/;

type Get = (key: string) => unknown;

const isBlank = (v: unknown) => v === undefined || v === null || v === '';

const str = (get: Get, key: string, fallback?: string): string | undefined => {
  const v = get(key);
  if (isBlank(v)) return fallback;
  if (typeof v !== 'string') throw new ConfigError(key, 'must be a string', v);
  return v.trim();
};

const int = (get: Get, key: string, fallback: number, min: number, max: number): number => {
  const v = get(key);
  if (isBlank(v)) return fallback;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(key, `must be an integer from ${min} to ${max}`, v);
  }
  return n;
};

const num = (get: Get, key: string, fallback: number, min: number, max: number): number => {
  const v = get(key);
  if (isBlank(v)) return fallback;
  const n = typeof v === 'string' && /^\d+(?:\.\d+)?$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(key, `must be a number from ${min} to ${max}`, v);
  }
  return n;
};

const bool = (get: Get, key: string, fallback: boolean): boolean => {
  const v = get(key);
  if (isBlank(v)) return fallback;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new ConfigError(key, 'must be true or false', v);
};

const list = (get: Get, key: string, item: (s: string) => boolean, what: string): string[] => {
  const v = get(key);
  if (isBlank(v)) return [];
  let items: unknown = v;
  if (typeof v === 'string') {
    const text = v.trim();
    if (text.startsWith('[')) {
      try {
        items = JSON.parse(text);
      } catch {
        throw new ConfigError(key, 'must be a JSON array or a comma-separated list', v);
      }
    } else {
      items = text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    }
  }
  if (!Array.isArray(items)) throw new ConfigError(key, `must be a list of ${what}`, v);
  for (const entry of items) {
    if (typeof entry !== 'string' || !item(entry))
      throw new ConfigError(key, `every entry must be ${what}`, entry);
  }
  return [...new Set(items as string[])];
};

const isEmail = (s: string) => s.length <= 254 && EMAIL.test(s);

const email = (get: Get, key: string, required: boolean): string | undefined => {
  const v = str(get, key);
  if (v === undefined) {
    if (required)
      throw new ConfigError(key, 'is required: the e-mail address alerts are sent from', get(key));
    return undefined;
  }
  if (!isEmail(v)) throw new ConfigError(key, 'must be an e-mail address like alerts@your-msp.com', v);
  return v;
};

/** Reads and validates every key; throws a ConfigError naming the first bad key. */
export const loadConfig = (get: Get): GovernorConfig => {
  const stage = str(get, 'stage', 'prod')!;
  if (!STAGE.test(stage)) {
    throw new ConfigError(
      'stage',
      'must be 1-20 characters of a-z, 0-9 and "-", starting with a letter',
      stage,
    );
  }
  const zoneDiscoveryUrl = str(get, 'zoneDiscoveryUrl', DEFAULT_ZONE_DISCOVERY_URL)!;
  if (!/^https:\/\/[^\s/]+(?:\/\S*)?$/.test(zoneDiscoveryUrl)) {
    throw new ConfigError('zoneDiscoveryUrl', 'must be an https:// URL', zoneDiscoveryUrl);
  }
  const logRetentionDays = int(get, 'logRetentionDays', 30, 1, 9999);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    throw new ConfigError(
      'logRetentionDays',
      `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
      get('logRetentionDays'),
    );
  }
  const logLevel = str(get, 'logLevel', 'info')!;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new ConfigError('logLevel', 'must be one of debug, info, warn, error', logLevel);
  }
  const apiThrottleRate = num(get, 'apiThrottleRate', 50, 1, 10_000);
  const workerBatchSize = int(get, 'workerBatchSize', workerEventSource.batchSize, 1, 100);
  const workerBatchingWindowSeconds = int(
    get,
    'workerBatchingWindowSeconds',
    workerEventSource.maxBatchingWindowSeconds,
    0,
    300,
  );
  if (workerBatchSize > 10 && workerBatchingWindowSeconds < 1) {
    throw new ConfigError(
      'workerBatchingWindowSeconds',
      'must be at least 1 when workerBatchSize is above 10 (a Lambda rule)',
      workerBatchingWindowSeconds,
    );
  }
  const apiThrottleBurst = int(get, 'apiThrottleBurst', 100, 1, 5_000);
  return {
    stage,
    senderEmail: email(get, 'senderEmail', true)!,
    createSenderIdentity: bool(get, 'createSenderIdentity', true),
    alertRecipients: list(get, 'alertRecipients', isEmail, 'an e-mail address'),
    alarmEmail: email(get, 'alarmEmail', false),
    // a worker runs its batch one job after another: 100 is far more than one invocation gets through
    workerBatchSize,
    workerBatchingWindowSeconds,
    // 2 is the smallest maximum concurrency an SQS event source accepts.
    workerMaxConcurrency: int(get, 'workerMaxConcurrency', workerEventSource.maxConcurrency, 2, 1000),
    apiThrottleRate,
    apiThrottleBurst,
    replyQueueArns: list(
      get,
      'replyQueueArns',
      (s) => SQS_ARN.test(s),
      'an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)',
    ),
    logRetentionDays,
    logLevel: logLevel as LogLevel,
    zoneDiscoveryUrl,
    corsOrigins: list(
      get,
      'corsOrigins',
      (s) => s === '*' || ORIGIN.test(s),
      'an origin like https://ops.example.com, or *',
    ),
  };
};
