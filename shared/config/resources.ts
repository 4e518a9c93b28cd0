/**
 * The shape of the stack's storage and queues, in one place, so the CDK app (infra/) and the local
 * stack (local/) create exactly the same thing. Plain data: no CDK or SDK imports here.
 */
export const WORKER_TIMEOUT_SECONDS = 30;

export const table = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
} as const;

/** SQS allows at most 15 minutes per DelaySeconds; longer waits are chained hop by hop. */
export const MAX_DELAY_SECONDS = 900;

export const queues = {
  /** Integrations send jobs here. */
  jobs: { suffix: 'jobs', visibilityTimeoutSeconds: 6 * WORKER_TIMEOUT_SECONDS, maxReceiveCount: 5 },
  /** Throttled and retried jobs wait here (per-message DelaySeconds); the same worker consumes it. */
  delay: { suffix: 'delay', visibilityTimeoutSeconds: 6 * WORKER_TIMEOUT_SECONDS, maxReceiveCount: 5 },
  /** Results of jobs that named no `replyTo`. */
  results: { suffix: 'results', visibilityTimeoutSeconds: 30 },
  /** Jobs that cannot be executed, with the reason in message attributes. Kept 14 days. */
  deadLetter: { suffix: 'dead-letter', retentionSeconds: 14 * 24 * 3600 },
} as const;

/** Event source mapping defaults for the worker (overridable through configuration). */
export const workerEventSource = {
  batchSize: 10,
  maxConcurrency: 5,
  maxBatchingWindowSeconds: 0,
} as const;

/** Environment variable names the functions read (set by infra/ and by the local stack). */
export const envNames = {
  tableName: 'TABLE_NAME',
  jobsQueueUrl: 'JOBS_QUEUE_URL',
  delayQueueUrl: 'DELAY_QUEUE_URL',
  resultsQueueUrl: 'RESULTS_QUEUE_URL',
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  zoneDiscoveryUrl: 'ZONE_DISCOVERY_URL',
  senderEmail: 'SENDER_EMAIL',
  /** Stack-wide admins (comma-separated), added to every connection's own alert recipients. */
  alertRecipients: 'ALERT_RECIPIENTS',
  /** The operators' API base URL: wake links and status links in alert e-mails. */
  publicApiUrl: 'PUBLIC_API_URL',
  /** Secrets Manager ARN of the wake-link HMAC key. */
  wakeLinkSecretArn: 'WAKE_LINK_SECRET_ARN',
  logLevel: 'LOG_LEVEL',
} as const;
