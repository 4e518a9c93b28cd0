/**
 * Secrets Manager for the local stack: in memory, AWS JSON 1.1 (`X-Amz-Target:
 * secretsmanager.<Operation>`): CreateSecret, GetSecretValue, PutSecretValue, DescribeSecret and
 * DeleteSecret. Started by emulators.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

interface StoredSecret {
  arn: string;
  name: string;
  description?: string;
  createdDate: number;
  lastChangedDate: number;
  versionId: string;
  secretString?: string;
  secretBinary?: string;
  previousVersionId?: string;
}

class SecretsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export const createSecretsHandler = (region: string, accountId: string) => {
  const byName = new Map<string, StoredSecret>();
  const find = (secretId: unknown): StoredSecret => {
    if (typeof secretId !== 'string' || secretId === '') {
      throw new SecretsError('InvalidParameterException', 'SecretId is required.');
    }
    const secret =
      byName.get(secretId) ??
      [...byName.values()].find((s) => s.arn === secretId || s.arn.startsWith(`${secretId}-`));
    if (!secret) {
      throw new SecretsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    return secret;
  };
  const now = () => Date.now() / 1000;
  const setValue = (secret: StoredSecret, input: Record<string, unknown>) => {
    if (typeof input.SecretString === 'string') {
      secret.secretString = input.SecretString;
      delete secret.secretBinary;
    } else if (typeof input.SecretBinary === 'string') {
      secret.secretBinary = input.SecretBinary;
      delete secret.secretString;
    } else {
      throw new SecretsError(
        'InvalidRequestException',
        'You must provide either SecretString or SecretBinary.',
      );
    }
    const versionId = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : randomUUID();
    if (secret.versionId && secret.versionId !== versionId) secret.previousVersionId = secret.versionId;
    secret.versionId = versionId;
    secret.lastChangedDate = now();
  };
  const stages = (s: StoredSecret) => ({
    [s.versionId]: ['AWSCURRENT'],
    ...(s.previousVersionId ? { [s.previousVersionId]: ['AWSPREVIOUS'] } : {}),
  });

  const operations: Record<string, (input: Record<string, unknown>) => object> = {
    CreateSecret: (input) => {
      const name = input.Name;
      if (typeof name !== 'string' || name === '') {
        throw new SecretsError('InvalidParameterException', 'Name is required.');
      }
      if (byName.has(name)) {
        throw new SecretsError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`,
        );
      }
      const suffix = randomBytes(4).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6);
      const secret: StoredSecret = {
        arn: `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`,
        name,
        ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
        createdDate: now(),
        lastChangedDate: now(),
        versionId: '',
      };
      setValue(secret, input);
      byName.set(name, secret);
      return { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId };
    },
    GetSecretValue: (input) => {
      const secret = find(input.SecretId);
      const wantsPrevious =
        input.VersionStage === 'AWSPREVIOUS' ||
        (input.VersionId !== undefined && input.VersionId !== secret.versionId);
      if (wantsPrevious) {
        throw new SecretsError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for the requested version.",
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: secret.versionId,
        ...(secret.secretString !== undefined ? { SecretString: secret.secretString } : {}),
        ...(secret.secretBinary !== undefined ? { SecretBinary: secret.secretBinary } : {}),
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.lastChangedDate,
      };
    },
    PutSecretValue: (input) => {
      const secret = find(input.SecretId);
      setValue(secret, input);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: secret.versionId,
        VersionStages: ['AWSCURRENT'],
      };
    },
    DescribeSecret: (input) => {
      const secret = find(input.SecretId);
      return {
        ARN: secret.arn,
        Name: secret.name,
        ...(secret.description !== undefined ? { Description: secret.description } : {}),
        CreatedDate: secret.createdDate,
        LastChangedDate: secret.lastChangedDate,
        VersionIdsToStages: stages(secret),
      };
    },
    DeleteSecret: (input) => {
      const secret = find(input.SecretId);
      // Locally a deleted secret is gone at once (as with ForceDeleteWithoutRecovery).
      byName.delete(secret.name);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: now() };
    },
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const send = (status: number, payload: object, errorType?: string) => {
        const body = JSON.stringify(payload);
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'content-length': Buffer.byteLength(body),
          'x-amzn-requestid': randomUUID(),
          ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
        });
        res.end(body);
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      const [prefix, operation = ''] = target.split('.');
      const handler = prefix === 'secretsmanager' ? operations[operation] : undefined;
      if (req.method !== 'POST' || !handler) {
        const message = `Operation ${target || '(none)'} is not supported by the local Secrets Manager.`;
        send(400, { __type: 'UnknownOperationException', message }, 'UnknownOperationException');
        return;
      }
      try {
        const raw = Buffer.concat(chunks).toString('utf8');
        const input = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
        send(200, handler(input));
      } catch (error) {
        if (error instanceof SecretsError) {
          send(400, { __type: error.type, message: error.message }, error.type);
        } else if (error instanceof SyntaxError) {
          send(400, { __type: 'SerializationException', message: error.message }, 'SerializationException');
        } else {
          send(500, { __type: 'InternalServiceError', message: String(error) }, 'InternalServiceError');
        }
      }
    });
  };
};
