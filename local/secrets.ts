/**
 * Seeds a secret in Secrets Manager (the local emulator once `applyEnv()` ran): creates it, or puts a
 * new value when it already exists. The client is built per call, so it reads the environment as it
 * is now, not as it was when this module was imported.
 */
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

export interface PutSecretOptions {
  /** Defaults to AWS_ENDPOINT_URL_SECRETS_MANAGER (set by emulators.applyEnv()). */
  endpoint?: string;
  region?: string;
}

export const putSecret = async (
  name: string,
  value: object,
  options: PutSecretOptions = {},
): Promise<{ arn: string; versionId: string }> => {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  const region = options.region ?? process.env.AWS_REGION;
  if (!endpoint) {
    throw new Error(
      'putSecret seeds the local emulator: call emulators.applyEnv() first or pass an endpoint',
    );
  }
  const client = new SecretsManagerClient({
    // Seeds the local emulator only, which accepts any signature: never sign with real credentials.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    region: region ?? 'us-east-1',
    endpoint,
  });
  const SecretString = JSON.stringify(value);
  try {
    try {
      const out = await client.send(new CreateSecretCommand({ Name: name, SecretString }));
      return { arn: out.ARN ?? '', versionId: out.VersionId ?? '' };
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      const out = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString }));
      return { arn: out.ARN ?? '', versionId: out.VersionId ?? '' };
    }
  } finally {
    client.destroy();
  }
};
