import * as z from 'zod';
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
  .refine((t) => t.resume < t.sleep, { message: 'thresholds.resume must be below thresholds.sleep' });

export const connectionSettingsSchema = z
  .object({
    apiUser: z.string().min(3).max(256),
    integrationCode: z.string().min(1).max(256),
    /** Secrets Manager name or ARN; the secret is JSON `{"secret":"..."}` (optionally username/integrationCode). */
    secretRef: z.string().min(1).max(2048),
    enabled: z.boolean().default(true),
    limit: z.number().int().min(10).max(1_000_000).default(10_000),
    windowSeconds: z.number().int().min(6).max(86_400).default(3_600),
    ceilings: ceilingsSchema.default({ bulk: 0.6, normal: 0.8, critical: 0.95 }),
    thresholds: thresholdsSchema.default({ warn: 0.75, sleep: 0.9, resume: 0.7 }),
    alertRecipients: z.array(z.email()).max(50).default([]),
    /** While the connection sleeps, critical jobs may still spend up to their ceiling. */
    criticalWhileAsleep: z.boolean().default(true),
    /** Zone URL (`.../atservicesrest/`), normally found by zone discovery and cached here. */
    zoneUrl: z.url().optional(),
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
