import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { isRole, LEGACY_ROLE, ROLES, type Role } from '#shared/auth/roles.ts';
import { ValidationError } from '#shared/errors.ts';

/**
 * Bearer tokens for the operators' API. A token is `agt_<id>_<secret>`: the id (12 base62
 * characters) finds the record, the secret (32 random bytes, hex) proves possession. Only the
 * SHA-256 of the secret is stored, so a leaked table does not leak usable tokens; a fast hash is
 * enough because the secret is 256 random bits, not a password.
 */
export interface ApiTokenInfo {
  id: string;
  name: string;
  /** 'unknown': a stored role this version does not know; such a token is refused. */
  role: Role | 'unknown';
  /** Created before roles existed: no role is stored and it acts as LEGACY_ROLE. */
  legacy?: true;
  createdAt: string;
  revokedAt?: string;
}

export type TokenCheck =
  | { ok: true; id: string; name: string; role: Role }
  | { ok: false; status: 401 | 403; message: string };

export interface TokenStore {
  /** The plain token is returned once, never stored. */
  create(name: string, role: Role): Promise<ApiTokenInfo & { token: string }>;
  /** `authorization` is the raw Authorization header value. */
  verify(authorization: string | undefined): Promise<TokenCheck>;
  /** false if there is no such token. */
  revoke(id: string): Promise<boolean>;
  /** Never includes hashes. */
  list(): Promise<ApiTokenInfo[]>;
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 12;
const ID_PATTERN = /^[A-Za-z0-9]{12}$/;
// Hex has no `_`, so the token splits unambiguously (base64url's alphabet includes `_`).
const TOKEN_PATTERN = /^agt_([A-Za-z0-9]{12})_([0-9a-f]{64})$/;
const BEARER_PATTERN = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const NAME_MAX = 64;

const INDEX_KEY = { pk: { S: 'TOKENS' }, sk: { S: 'INDEX' } };
export const tokenKey = (id: string) => ({ pk: { S: `TOKEN#${id}` }, sk: { S: 'TOKEN' } });

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
/** Compared against when the id is unknown, so an unknown id costs the same work as a wrong secret. */
const DUMMY_HASH = sha256('autotask-governor: no such token');

const randomId = (): string => Array.from({ length: ID_LENGTH }, () => BASE62[randomInt(62)]).join('');

export const validateTokenName = (name: unknown): string => {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  const length = [...trimmed].length;
  if (length < 1 || length > NAME_MAX) {
    throw new ValidationError(`token name must be 1-${NAME_MAX} characters`, 'invalid-token-name');
  }
  // Names appear in alert e-mails ("resumed by ...") and logs: no line breaks or other control characters.
  if (/\p{Cc}/u.test(trimmed)) {
    throw new ValidationError('token name must not contain control characters', 'invalid-token-name');
  }
  return trimmed;
};

export const validateRole = (role: unknown): Role => {
  if (!isRole(role))
    throw new ValidationError(`token role must be one of ${ROLES.join(', ')}`, 'invalid-token-role');
  return role;
};

/**
 * The stored role. None at all (a token older than roles) reads as the legacy role; a role this
 * code does not know (written by a newer version, or by hand) grants nothing.
 */
const roleOf = (item: Record<string, AttributeValue>): { role: Role; legacy?: true } | undefined => {
  if (item.role === undefined) return { role: LEGACY_ROLE, legacy: true };
  return isRole(item.role.S) ? { role: item.role.S } : undefined;
};

const deny = (status: 401 | 403, message: string): TokenCheck => ({ ok: false, status, message });

export class DynamoTokenStore implements TokenStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async create(name: string, role: Role): Promise<ApiTokenInfo & { token: string }> {
    const cleanName = validateTokenName(name);
    const cleanRole = validateRole(role);
    const id = randomId();
    const secret = randomBytes(32).toString('hex');
    const createdAt = new Date(this.now()).toISOString();
    await this.dynamo.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...tokenKey(id),
          type: { S: 'api-token' },
          hash: { S: sha256(secret).toString('hex') },
          name: { S: cleanName },
          role: { S: cleanRole },
          createdAt: { S: createdAt },
        },
        // 62^12 ids make a collision practically impossible; the condition makes it harmless anyway.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: INDEX_KEY,
        UpdateExpression: 'ADD ids :id',
        ExpressionAttributeValues: { ':id': { SS: [id] } },
      }),
    );
    return { id, name: cleanName, role: cleanRole, createdAt, token: `agt_${id}_${secret}` };
  }

  /**
   * 401 when no bearer credential was presented, 403 when one was and it is not good. Unknown ids
   * and wrong secrets get the same message and the same work (a hash comparison), so neither the
   * answer nor its timing tells whether an id exists; "revoked" is said only to the holder of the
   * right secret.
   */
  async verify(authorization: string | undefined): Promise<TokenCheck> {
    if (!authorization?.trim()) return deny(401, 'missing Authorization header');
    const bearer = BEARER_PATTERN.exec(authorization.trim());
    if (!bearer) return deny(401, 'Authorization header must be "Bearer <token>"');
    const parts = TOKEN_PATTERN.exec(bearer[1] ?? '');
    if (!parts) return deny(403, 'malformed API token');
    const [, id = '', secret = ''] = parts;

    // Consistent read: a revocation takes effect on the next request.
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: tokenKey(id), ConsistentRead: true }),
    );
    const presented = sha256(secret);
    const storedHex = out.Item?.hash?.S;
    const stored = storedHex && /^[0-9a-f]{64}$/.test(storedHex) ? Buffer.from(storedHex, 'hex') : undefined;
    const matches = timingSafeEqual(presented, stored ?? DUMMY_HASH) && stored !== undefined;
    if (!out.Item || !matches) return deny(403, 'invalid API token');
    if (out.Item.revokedAt?.S) return deny(403, 'API token has been revoked');
    const role = roleOf(out.Item);
    if (!role) return deny(403, 'API token has a role this version does not know');
    return { ok: true, id, name: out.Item.name?.S ?? '', role: role.role };
  }

  async revoke(id: string): Promise<boolean> {
    if (!ID_PATTERN.test(id)) return false;
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: tokenKey(id),
          // Revoking twice keeps the first revocation time.
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': { S: new Date(this.now()).toISOString() } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Through the index item rather than a Scan, which would read every budget item and job record too. */
  async list(): Promise<ApiTokenInfo[]> {
    const index = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: INDEX_KEY, ConsistentRead: true }),
    );
    const ids = [...(index.Item?.ids?.SS ?? [])];
    const tokens: ApiTokenInfo[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Array<Record<string, AttributeValue>> = ids.slice(i, i + 100).map(tokenKey);
      while (keys.length > 0) {
        const out = await this.dynamo.send(
          new BatchGetItemCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: keys,
                // The hash never leaves the table, not even into this process.
                ProjectionExpression: 'pk, #name, #role, createdAt, revokedAt',
                ExpressionAttributeNames: { '#name': 'name', '#role': 'role' },
                ConsistentRead: true,
              },
            },
          }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) tokens.push(fromItem(item));
        keys = (out.UnprocessedKeys?.[this.tableName]?.Keys as typeof keys | undefined) ?? [];
      }
    }
    return tokens.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }
}

const fromItem = (item: Record<string, AttributeValue>): ApiTokenInfo => ({
  id: (item.pk?.S ?? '').replace(/^TOKEN#/, ''),
  name: item.name?.S ?? '',
  ...(roleOf(item) ?? { role: 'unknown' as const }),
  createdAt: item.createdAt?.S ?? '',
  ...(item.revokedAt?.S ? { revokedAt: item.revokedAt.S } : {}),
});
