import { createHash, randomBytes } from 'node:crypto';
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { isRole, type Role } from '#shared/auth/roles.ts';
import { tokenKey } from '#shared/auth/tokens.ts';

/**
 * The console's sign-in sessions (docs/console.md, "Sessions"). An admin pastes an API token once;
 * the console then carries a random session id in a cookie. The table holds only the SHA-256 of that
 * id (a leaked table yields no usable cookie), with the token's id, name and role. A session ends when
 * it expires, when its holder signs out, or when its token is revoked: every use checks the token
 * record again (cached for at most `tokenCheckMs`), so a revocation ends the token's sessions too.
 */
export interface Session {
  tokenId: string;
  /** The token's name: recorded as "who" in the transitions the session causes. */
  name: string;
  role: Role;
  expiresAt: number;
}

export interface SessionStore {
  /** Returns the cookie value, given once and never stored. */
  create(token: { id: string; name: string; role: Role }): Promise<{ id: string; expiresAt: number }>;
  /** undefined: no such session, expired, signed out, or its token revoked. */
  get(id: string | undefined): Promise<Session | undefined>;
  end(id: string | undefined): Promise<void>;
}

export const SESSION_TTL_MS = 8 * 3_600_000;
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const sessionKey = (id: string) => ({
  pk: { S: `SESSION#${createHash('sha256').update(id, 'utf8').digest('hex')}` },
  sk: { S: 'SESSION' },
});

export class DynamoSessionStore implements SessionStore {
  private readonly tokenChecks = new Map<string, { ok: boolean; at: number }>();

  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: { now?: () => number; ttlMs?: number; tokenCheckMs?: number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async create(token: { id: string; name: string; role: Role }) {
    const id = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + (this.options.ttlMs ?? SESSION_TTL_MS);
    await this.dynamo.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...sessionKey(id),
          type: { S: 'console-session' },
          tokenId: { S: token.id },
          name: { S: token.name },
          role: { S: token.role },
          expiresAt: { N: String(expiresAt) },
          // DynamoDB deletes it a day after it expired; `get` refuses it from the expiry on
          ttl: { N: String(Math.ceil(expiresAt / 1000) + 86_400) },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return { id, expiresAt };
  }

  async get(id: string | undefined): Promise<Session | undefined> {
    if (!id || !ID_PATTERN.test(id)) return undefined;
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: sessionKey(id), ConsistentRead: true }),
    );
    const item = out.Item;
    const expiresAt = Number(item?.expiresAt?.N ?? 0);
    const role = item?.role?.S;
    const tokenId = item?.tokenId?.S;
    if (!item || item.endedAt || expiresAt <= this.now() || !isRole(role) || !tokenId) return undefined;
    if (!(await this.tokenValid(tokenId))) return undefined;
    return { tokenId, name: item.name?.S ?? '', role, expiresAt };
  }

  /** Signing out marks the item ended (an update, not a delete: the API function may not delete items). */
  async end(id: string | undefined): Promise<void> {
    if (!id || !ID_PATTERN.test(id)) return;
    await this.dynamo
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: sessionKey(id),
          UpdateExpression: 'SET endedAt = :now',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': { N: String(this.now()) } },
        }),
      )
      .catch((err: unknown) => {
        if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      });
  }

  /** The token still exists and is not revoked; remembered for a few seconds per container. */
  private async tokenValid(tokenId: string): Promise<boolean> {
    const cached = this.tokenChecks.get(tokenId);
    const maxAge = this.options.tokenCheckMs ?? 5_000;
    if (cached && this.now() - cached.at < maxAge) return cached.ok;
    const out = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: tokenKey(tokenId),
        ConsistentRead: true,
        ProjectionExpression: 'pk, revokedAt',
      }),
    );
    const ok = out.Item !== undefined && out.Item.revokedAt === undefined;
    this.tokenChecks.set(tokenId, { ok, at: this.now() });
    return ok;
  }
}
