import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Built once per process. */
export const secretsManager = new SecretsManagerClient({});
