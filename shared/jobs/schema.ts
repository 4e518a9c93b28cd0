import * as z from 'zod';
import { ValidationError } from '#shared/errors.ts';

/** The job contract (README "Job format"). Validated on every path in: SQS, POST /jobs, webhooks. */
export const PRIORITIES = ['critical', 'normal', 'bulk'] as const;
export type Priority = (typeof PRIORITIES)[number];

const jsonObject = z.record(z.string(), z.unknown());

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
      .regex(/^https:\/\/\S+$|^http:\/\/(127\.0\.0\.1|localhost)[:/]\S*$/, 'replyTo must be an SQS queue URL')
      .optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
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
  return job;
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
