import * as z from 'zod';
import { isAutotaskZone, ZONE_URL_FORM } from '#shared/autotask/zones.ts';
import type { Priority } from '#shared/jobs/schema.ts';

/**
 * A connection = one Autotask database. Settings live in DynamoDB; the API secret lives in Secrets
 * Manager and is referenced by name/ARN only.
 */
const fraction = z.number().gt(0).lte(1);

export const ceilingsSchema = z
  .object({ bulk: fraction.default(0.6), normal: fraction.default(0.8), critical: fraction.default(0.95) })
  .refine((c) => c.bulk <= c.normal && c.normal <= c.critical, {
    message: 'ceilings must satisfy 0 < bulk <= normal <= critical <= 1',
  });

export const thresholdsSchema = z
  .object({ warn: fraction.default(0.75), sleep: fraction.default(0.9), resume: fraction.default(0.7) })
  .refine((t) => t.resume < t.sleep, { message: 'thresholds.resume must be below thresholds.sleep' })
  .refine((t) => t.warn <= t.sleep, { message: 'thresholds.warn must not be above thresholds.sleep' });

/**
 * Autotask's cap is 10,000 requests per rolling hour per database (README "Configuration"): a limit
 * above it would let the governor spend what Autotask refuses, so it is the most a connection may set.
 */
export const MAX_LIMIT = 10_000;

/** Text that reaches e-mails, logs and HTTP headers: one line, no control characters. */
const plainText = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !/\p{Cc}/u.test(s), {
      message: 'must not contain control characters (line breaks, tabs, ...)',
    });

export const connectionSettingsSchema = z
  .object({
    apiUser: plainText(3, 256),
    integrationCode: plainText(1, 256),
    /**
     * Secrets Manager name or ARN; the secret is JSON `{"secret":"..."}` (optionally username/integrationCode).
     * Always the connection's own: the connection-secrets prefix plus its id (`isOwnSecretRef`).
     */
    secretRef: plainText(1, 2048),
    enabled: z.boolean().default(true),
    limit: z.number().int().min(10).max(MAX_LIMIT).default(10_000),
    windowSeconds: z.number().int().min(6).max(86_400).default(3_600),
    ceilings: ceilingsSchema.default({ bulk: 0.6, normal: 0.8, critical: 0.95 }),
    thresholds: thresholdsSchema.default({ warn: 0.75, sleep: 0.9, resume: 0.7 }),
    alertRecipients: z.array(z.email()).max(50).default([]),
    /** While the connection sleeps, critical jobs may still spend up to their ceiling. */
    criticalWhileAsleep: z.boolean().default(true),
    /** Zone URL (`.../atservicesrest/`), normally found by zone discovery and cached here. */
    zoneUrl: z
      .string()
      .max(256)
      .refine(isAutotaskZone, { message: `must be an Autotask zone URL: ${ZONE_URL_FORM}` })
      .optional(),
  })
  .strict();

export type ConnectionSettings = z.output<typeof connectionSettingsSchema>;
export type ConnectionSettingsInput = z.input<typeof connectionSettingsSchema>;

export interface Connection extends ConnectionSettings {
  connectionId: string;
  createdAt: string;
  updatedAt: string;
  zoneCheckedAt?: string;
}

/** Requests a priority may have in any rolling window: floor(limit x fraction). */
export const ceilingFor = (connection: Pick<Connection, 'limit' | 'ceilings'>, priority: Priority): number =>
  Math.floor(connection.limit * connection.ceilings[priority]);

/** The secret a connection must use: the stack's connection-secrets prefix plus its id. */
export const ownSecretRef = (prefix: string, connectionId: string): string => `${prefix}${connectionId}`;

/**
 * Whether `secretRef` names the connection's own secret, by name or by ARN (Secrets Manager adds a
 * `-` and six characters to a secret's name in its ARN). Another connection's secret never is.
 */
export const isOwnSecretRef = (secretRef: string, prefix: string, connectionId: string): boolean => {
  const name = ownSecretRef(prefix, connectionId);
  if (secretRef === name) return true;
  const arn = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(.+)-[A-Za-z0-9]{6}$/.exec(secretRef);
  return arn?.[1] === name;
};
