/**
 * The shape of the stack's storage and queues, in one place, so the CDK app (infra/) and the local
 * stack (local/) create exactly the same thing. Plain data: no CDK or SDK imports here.
 */
/**
 * The worker's Lambda timeout. A job starts only while 25 s are left (the Autotask timeout plus
 * bookkeeping), so a 60 s invocation starts jobs for 35 s: a batch of 25 at up to 1.4 s a job.
 */
export const WORKER_TIMEOUT_SECONDS = 60;

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
  /**
   * Critical jobs' own lane: the same contract as the jobs queue, consumed by the worker with its own
   * event source, so a critical job never waits in line behind a backlog of normal and bulk ones.
   */
  critical: { suffix: 'critical', visibilityTimeoutSeconds: 6 * WORKER_TIMEOUT_SECONDS, maxReceiveCount: 5 },
  /** Throttled and retried jobs wait here (per-message DelaySeconds); the same worker consumes it. */
  delay: { suffix: 'delay', visibilityTimeoutSeconds: 6 * WORKER_TIMEOUT_SECONDS, maxReceiveCount: 5 },
  /**
   * Jobs that met their connection asleep wait here, unpolled, until its wake hands them back to the
   * delay queue (shared/jobs/parking.ts); kept as long as SQS allows, since a sleep by hand may last.
   */
  parked: { suffix: 'parked', visibilityTimeoutSeconds: 30, retentionSeconds: 14 * 24 * 3600 },
  /** Results of jobs that named no `replyTo`. */
  results: { suffix: 'results', visibilityTimeoutSeconds: 30 },
  /** Jobs that cannot be executed, with the reason in message attributes. Kept 14 days. */
  deadLetter: { suffix: 'dead-letter', retentionSeconds: 14 * 24 * 3600 },
} as const;

/** Event source mapping defaults for the worker (overridable through configuration). */
export const workerEventSource = {
  /**
   * 25 messages per invocation: a worker then often has a second job for the endpoint whose thread
   * it holds, and renewing a held thread never loses a race (README "Threads"). Above 10 messages
   * Lambda requires a batching window.
   */
  batchSize: 25,
  maxConcurrency: 5,
  /**
   * Lambda gathers messages for up to 1 s: fresh jobs may start up to 1 s later when the queue is
   * quiet (a backlog fills batches at once); jobs returning from the delay queue are sent that
   * much early and the worker holds them until their time, so they are not late.
   */
  maxBatchingWindowSeconds: 1,
} as const;

/**
 * The critical lane's event source: small batches taken at once (no batching window), with
 * concurrency of its own beside the jobs and delay queues' (Lambda's minimum is 2).
 */
export const criticalEventSource = { batchSize: 5, maxConcurrency: 2, maxBatchingWindowSeconds: 0 } as const;

/** Environment variable names the functions read (set by infra/ and by the local stack). */
export const envNames = {
  tableName: 'TABLE_NAME',
  jobsQueueUrl: 'JOBS_QUEUE_URL',
  /** Critical jobs' lane (POST /jobs puts critical jobs there). */
  criticalQueueUrl: 'CRITICAL_QUEUE_URL',
  delayQueueUrl: 'DELAY_QUEUE_URL',
  /** Jobs waiting for their connection to wake (shared/jobs/parking.ts). */
  parkedQueueUrl: 'PARKED_QUEUE_URL',
  resultsQueueUrl: 'RESULTS_QUEUE_URL',
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  zoneDiscoveryUrl: 'ZONE_DISCOVERY_URL',
  /** `autotask-governor/<stage>/connections/`: a connection's secret is this prefix + its id. */
  connectionSecretPrefix: 'CONNECTION_SECRET_PREFIX',
  senderEmail: 'SENDER_EMAIL',
  /** Stack-wide admins (comma-separated), added to every connection's own alert recipients. */
  alertRecipients: 'ALERT_RECIPIENTS',
  /** The operators' API base URL: wake links and status links in alert e-mails. */
  publicApiUrl: 'PUBLIC_API_URL',
  /** Secrets Manager ARN of the wake-link HMAC key. */
  wakeLinkSecretArn: 'WAKE_LINK_SECRET_ARN',
  logLevel: 'LOG_LEVEL',
  /** The worker's event-source batching window (s): jobs sent to the delay queue leave that much early. */
  batchingWindowSeconds: 'BATCHING_WINDOW_SECONDS',
  /** The queues jobs may name as `replyTo` (comma-separated SQS queue URLs; none set: no `replyTo` allowed). */
  replyQueueUrls: 'REPLY_QUEUE_URLS',
} as const;
