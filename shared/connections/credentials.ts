import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AutotaskCredentials } from '#shared/autotask/types.ts';
import { type Connection, isOwnSecretRef, ownSecretRef } from '#shared/connections/model.ts';
import { ConfigError } from '#shared/errors.ts';

export interface CredentialSource {
  credentialsFor(connection: Connection): Promise<AutotaskCredentials>;
}

const TTL_MS = 5 * 60_000;

/**
 * Reads the connection's secret from Secrets Manager and caches it for five minutes per process,
 * so a rotated secret is picked up without a redeploy and a warm worker makes no extra call per job.
 * Only the connection's own secret (`prefix` + its id) is ever read for it: a settings row naming
 * another connection's secret is a ConfigError, whatever wrote it.
 */
export class SecretsManagerCredentials implements CredentialSource {
  private readonly cache = new Map<
    string,
    { at: number; secret: { secret: string; username?: string; integrationCode?: string } }
  >();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  async credentialsFor(connection: Connection): Promise<AutotaskCredentials> {
    if (!isOwnSecretRef(connection.secretRef, this.prefix, connection.connectionId))
      throw new ConfigError(
        `connection "${connection.connectionId}" may only use its own secret, ${ownSecretRef(this.prefix, connection.connectionId)}`,
      );
    let entry = this.cache.get(connection.secretRef);
    if (!entry || this.now() - entry.at > TTL_MS) {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: connection.secretRef }));
      let parsed: unknown;
      try {
        parsed = JSON.parse(out.SecretString ?? '');
      } catch {
        parsed = undefined;
      }
      const secret = parsed as
        | { secret?: unknown; username?: unknown; integrationCode?: unknown }
        | undefined;
      if (!secret || typeof secret.secret !== 'string' || secret.secret === '') {
        throw new ConfigError(`secret ${connection.secretRef} must be JSON with a non-empty "secret" field`);
      }
      entry = {
        at: this.now(),
        secret: {
          secret: secret.secret,
          ...(typeof secret.username === 'string' ? { username: secret.username } : {}),
          ...(typeof secret.integrationCode === 'string' ? { integrationCode: secret.integrationCode } : {}),
        },
      };
      this.cache.set(connection.secretRef, entry);
    }
    return {
      username: entry.secret.username ?? connection.apiUser,
      secret: entry.secret.secret,
      integrationCode: entry.secret.integrationCode ?? connection.integrationCode,
    };
  }
}
