import type * as z from 'zod';
import {
  type Connection,
  connectionSettingsSchema,
  isOwnSecretRef,
  ownSecretRef,
} from '#shared/connections/model.ts';
import { describeIssues } from '#shared/jobs/schema.ts';
import { HttpError } from './http.ts';
import type { ApiDeps } from './ports.ts';

export type SettingsCheck =
  | { ok: true; body: z.input<typeof connectionSettingsSchema> }
  | { ok: false; error: z.ZodError };

/**
 * A connection's settings as given (by `PUT /connections/{id}` or the console's form), with its own
 * secret filled in when left out, checked against the schema.
 */
export const checkSettings = (deps: ApiDeps, id: string, raw: object): SettingsCheck => {
  const body = { secretRef: ownSecretRef(deps.connectionSecretPrefix, id), ...raw };
  const parsed = connectionSettingsSchema.safeParse(body);
  return parsed.success
    ? { ok: true, body: body as z.input<typeof connectionSettingsSchema> }
    : { ok: false, error: parsed.error };
};

/**
 * Saves valid settings. Its secret is always its own (the secrets prefix plus its id), so no token
 * can point a connection at another's credentials, and that secret must exist.
 */
export const saveSettings = async (
  deps: ApiDeps,
  id: string,
  body: z.input<typeof connectionSettingsSchema>,
): Promise<{ saved: Connection; created: boolean }> => {
  const secretRef = body.secretRef;
  if (!isOwnSecretRef(secretRef, deps.connectionSecretPrefix, id))
    throw new HttpError(
      400,
      'invalid-settings',
      `secretRef: a connection uses its own secret, ${ownSecretRef(deps.connectionSecretPrefix, id)} (or leave secretRef out)`,
    );
  if (!(await deps.secretExists(secretRef)))
    throw new HttpError(400, 'invalid-settings', `secretRef: no secret "${secretRef}" in Secrets Manager`);
  const existed = (await deps.connections.get(id)) !== undefined;
  const saved = await deps.connections.put(id, body);
  deps.log.info('connection saved', { connectionId: id, created: !existed });
  return { saved, created: !existed };
};

export const settingsError = (error: z.ZodError) =>
  new HttpError(400, 'invalid-settings', describeIssues(error));
