import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { ConfigError, ValidationError } from '#shared/errors.ts';

/**
 * The wake-up link in alert e-mails. The token carries its own claims and an HMAC over them, so
 * checking it needs only the signing key; the table is touched once, when the link is used, to make
 * it single-use. Token = base64url(JSON claims) + '.' + base64url(HMAC-SHA256(key, first part)).
 * A link is bound to the sleep it was sent for (`episode`): it wakes that sleep only, never a later one.
 */
export interface WakeLinkClaims {
  connectionId: string;
  /** The sleep this link was sent for: the connection state's `since` (epoch ms) when the e-mail was decided. */
  episode: number;
  /** Epoch milliseconds. */
  expiresAt: number;
  nonce: string;
}

export type WakeLinkCheck =
  | { ok: true; claims: WakeLinkClaims }
  | { ok: false; status: 403; message: string };

export interface WakeLinks {
  /** A URL-safe token for the sleep that began at `episode` (the state's `since`); default ttl 1 hour. */
  sign(connectionId: string, episode: number, ttlMs?: number): Promise<string>;
  /** Tampered, malformed (links signed without an episode too) or expired -> 403, each with its own message. */
  verify(token: string): Promise<WakeLinkCheck>;
  /** true the first time a link is used; false if it was used before. */
  consume(claims: WakeLinkClaims): Promise<boolean>;
  /** When the link was used (epoch ms; 0 if the marker holds no readable time), or undefined while unused. Only reads: safe for GET. */
  usedAt(claims: WakeLinkClaims): Promise<number | undefined>;
}

export const DEFAULT_WAKE_LINK_TTL_MS = 60 * 60_000;
/** Used-link records outlive the link by a day, so a replay inside its lifetime always finds one. */
const USED_RECORD_GRACE_SECONDS = 24 * 3600;
/** Far longer than any token we sign: bounds the work an oversized path can cause. */
const MAX_TOKEN_LENGTH = 1024;

const TOKEN_SHAPE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const CONNECTION_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const NONCE = /^[A-Za-z0-9_-]{22}$/;

const claimsSchema = z
  .object({
    connectionId: z.string().regex(CONNECTION_ID),
    episode: z.number().int().nonnegative(),
    expiresAt: z.number().int().positive(),
    nonce: z.string().regex(NONCE),
  })
  .strict();

const deny = (message: string): WakeLinkCheck => ({ ok: false, status: 403, message });

export const wakeLinkKey = (nonce: string) => ({ pk: { S: `WAKELINK#${nonce}` }, sk: { S: 'WAKELINK' } });

export class HmacWakeLinks implements WakeLinks {
  constructor(
    private readonly key: () => Promise<string>,
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async sign(
    connectionId: string,
    episode: number,
    ttlMs: number = DEFAULT_WAKE_LINK_TTL_MS,
  ): Promise<string> {
    if (!CONNECTION_ID.test(connectionId)) {
      throw new ValidationError(
        'connectionId must be 1-64 characters of A-Z a-z 0-9 _ . -',
        'invalid-request',
      );
    }
    if (!Number.isSafeInteger(episode) || episode < 0) {
      throw new ValidationError(
        'wake link episode must be the epoch milliseconds the sleep began',
        'invalid-request',
      );
    }
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new ValidationError('wake link ttl must be a positive number of milliseconds', 'invalid-request');
    }
    const claims: WakeLinkClaims = {
      connectionId,
      episode,
      expiresAt: Math.ceil(this.now() + ttlMs),
      nonce: randomBytes(16).toString('base64url'),
    };
    const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
    return `${payload}.${await this.mac(payload)}`;
  }

  /** Order matters: the signature is checked before the claims are read, so "expired" is only ever said of a link we signed. */
  async verify(token: string): Promise<WakeLinkCheck> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return deny('malformed wake link');
    const parts = TOKEN_SHAPE.exec(token);
    if (!parts) return deny('malformed wake link');
    const [, payload = '', signature = ''] = parts;
    // Compare the canonical encodings, not decoded bytes: base64url decoding ignores the spare bits of
    // the last character, so two different strings can decode to the same signature.
    const expected = Buffer.from(await this.mac(payload), 'ascii');
    const given = Buffer.from(signature, 'ascii');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return deny('wake link signature is invalid');
    }
    let claims: WakeLinkClaims;
    try {
      claims = claimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    } catch {
      return deny('wake link claims are malformed');
    }
    if (this.now() >= claims.expiresAt) return deny('wake link has expired');
    return { ok: true, claims };
  }

  /** One conditional put: dynalite has no transactions, and none is needed for a single-use marker. */
  async consume(claims: WakeLinkClaims): Promise<boolean> {
    if (!NONCE.test(claims.nonce))
      throw new ValidationError('wake link nonce is malformed', 'invalid-request');
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...wakeLinkKey(claims.nonce),
            type: { S: 'wake-link' },
            connectionId: { S: claims.connectionId },
            expiresAt: { N: String(claims.expiresAt) },
            usedAt: { S: new Date(this.now()).toISOString() },
            ttl: { N: String(Math.ceil(claims.expiresAt / 1000) + USED_RECORD_GRACE_SECONDS) },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** A consistent read of the used-link marker `consume` writes; changes nothing. */
  async usedAt(claims: WakeLinkClaims): Promise<number | undefined> {
    if (!NONCE.test(claims.nonce))
      throw new ValidationError('wake link nonce is malformed', 'invalid-request');
    const out = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: wakeLinkKey(claims.nonce),
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const at = Date.parse(out.Item.usedAt?.S ?? '');
    return Number.isFinite(at) ? at : 0;
  }

  private async mac(payload: string): Promise<string> {
    return createHmac('sha256', await this.key())
      .update(payload, 'ascii')
      .digest('base64url');
  }
}

/**
 * The signing key from Secrets Manager (a plain generated string, see infra/constructs/secrets.ts),
 * read on first use and kept for the life of the process. A failed read is not cached, so the next
 * request tries again. Rotating the key invalidates links already sent; a warm process keeps the
 * key it read until it is recycled, so it keeps accepting old links and signing with the old key until then.
 */
export const signingKeyFromSecret = (
  client: SecretsManagerClient,
  secretId: string,
): (() => Promise<string>) => {
  let key: Promise<string> | undefined;
  return () => {
    if (key) return key;
    const read = client.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
      const value = out.SecretString;
      if (!value) throw new ConfigError(`secret ${secretId} must hold the wake-link signing key as a string`);
      return value;
    });
    key = read;
    read.catch(() => {
      if (key === read) key = undefined;
    });
    return read;
  };
};
