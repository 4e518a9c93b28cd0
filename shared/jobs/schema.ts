import * as z from 'zod';
import { envNames } from '#shared/config/resources.ts';
import { ConfigError, ValidationError } from '#shared/errors.ts';

/** The job contract (README "Job format"). Validated on every path in: SQS, POST /jobs, webhooks. */
export const PRIORITIES = ['critical', 'normal', 'bulk'] as const;
export type Priority = (typeof PRIORITIES)[number];

const jsonObject = z.record(z.string(), z.unknown());

/**
 * An SQS queue URL as AWS writes it: `https://sqs.<region>.amazonaws.com/<account>/<name>`
 * (`.amazonaws.com.cn` in the China partition). A job's `replyTo` must have this form AND be one of
 * the stack's reply queues (REPLY_QUEUE_URLS, see `replyRefusal`); the SQS client never sends to the
 * host a queue URL names (shared/aws/sqs.ts).
 */
export const SQS_QUEUE_URL =
  /^https:\/\/sqs\.[a-z0-9-]{1,32}\.amazonaws\.com(?:\.cn)?\/\d{12}\/[A-Za-z0-9_-]{1,80}(?:\.fifo)?$/;

/**
 * How deep `request.body` may nest (objects and arrays; the body itself is level 1). Autotask bodies
 * are a few levels deep (a query's nested filter groups take two a group); a body nested thousands
 * deep would overflow the stack when the worker serialises it.
 */
export const MAX_BODY_DEPTH = 64;

export const jobSchema = z
  .object({
    jobId: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'jobId must be 1-128 characters of A-Z a-z 0-9 _ . : -'),
    connectionId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'connectionId must be 1-64 characters of A-Z a-z 0-9 _ . -'),
    priority: z.enum(PRIORITIES).default('normal'),
    request: z
      .object({
        method: z.enum(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']),
        path: z
          .string()
          .min(2)
          .max(512)
          .regex(
            /^\/[A-Za-z0-9/_-]+$/,
            'path must look like /Tickets/123 (relative to .../atservicesrest/v1.0, no query string)',
          ),
        query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
        body: z.union([jsonObject, z.array(z.unknown())]).optional(),
      })
      .strict(),
    maxPages: z.number().int().min(1).max(50).default(1),
    replyTo: z
      .string()
      .regex(
        SQS_QUEUE_URL,
        'replyTo must be an SQS queue URL: https://sqs.<region>.amazonaws.com/<account>/<name>',
      )
      .optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    /** Retry a POST after a 5xx, timeout or reset too, accepting a possible duplicate (README). */
    retryUnsafeWrites: z.boolean().default(false),
  })
  .strict();

export type Job = z.output<typeof jobSchema>;
export type JobInput = z.input<typeof jobSchema>;

/** A zod error as one line: `path: message; ...` (shared by jobs, settings and query strings). */
export const describeIssues = (error: z.ZodError): string =>
  error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');

/** Parses a raw message body. Throws ValidationError with reason `invalid-json` or `invalid-job`. */
export const parseJob = (raw: string): Job => {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (err) {
    throw new ValidationError(`body is not valid JSON: ${(err as Error).message}`, 'invalid-json');
  }
  return validateJob(data);
};

export const validateJob = (data: unknown): Job => {
  const parsed = jobSchema.safeParse(data);
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error), 'invalid-job');
  const job = parsed.data;
  if (job.request.body !== undefined && (job.request.method === 'GET' || job.request.method === 'DELETE')) {
    throw new ValidationError(`request.body is not allowed with ${job.request.method}`, 'invalid-job');
  }
  // request.query is flat (the schema takes scalars only); the body is any JSON
  if (nestedDeeperThan(job.request.body, MAX_BODY_DEPTH)) {
    throw new ValidationError(`request.body: nested deeper than ${MAX_BODY_DEPTH} levels`, 'invalid-job');
  }
  return job;
};

/** Whether `value` nests objects/arrays more than `limit` levels deep. Iterative: no stack to overflow. */
const nestedDeeperThan = (value: unknown, limit: number): boolean => {
  const pending: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { node, depth } = next;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') pending.push({ node: child, depth: depth + 1 });
    }
  }
  return false;
};

/** REPLY_QUEUE_URLS (comma-separated) as a list; an entry that is not an SQS queue URL is a configuration error. */
export const parseReplyQueueUrls = (raw: string | undefined): string[] => {
  const urls = (raw ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
  const bad = urls.find((url) => !SQS_QUEUE_URL.test(url));
  if (bad !== undefined)
    throw new ConfigError(
      `environment variable ${envNames.replyQueueUrls}: "${bad}" is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)`,
    );
  return urls;
};

/** Why a job may not reply where it asks (its `replyTo` is not one of `allowed`), or undefined if it may. */
export const replyRefusal = (job: Pick<Job, 'replyTo'>, allowed: readonly string[]): string | undefined =>
  job.replyTo === undefined || allowed.includes(job.replyTo)
    ? undefined
    : `replyTo "${job.replyTo}" is not one of this stack's reply queues (the stack's replyQueueArns)`;

/**
 * `arn:<partition>:sqs:<region>:<account>:<name>` -> `https://sqs.<region>.amazonaws.com/<account>/<name>`
 * (the form `replyTo` must have; `.amazonaws.com.cn` in the aws-cn partition).
 */
export const queueUrlFromArn = (arn: string): string => {
  const match = /^arn:(aws(?:-[a-z]+)*):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]+(?:\.fifo)?)$/.exec(arn);
  if (!match)
    throw new ConfigError(`"${arn}" is not an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)`);
  const [, partition, region, account, name] = match;
  return `https://sqs.${region}.amazonaws.com${partition === 'aws-cn' ? '.cn' : ''}/${account}/${name}`;
};

/** Best effort: the job id of a message that failed validation, so its dead letter can name it. */
export const salvageJobId = (raw: string): string | undefined => {
  try {
    const value = (JSON.parse(raw) as { jobId?: unknown }).jobId;
    return typeof value === 'string' ? value.slice(0, 128) : undefined;
  } catch {
    return undefined;
  }
};
