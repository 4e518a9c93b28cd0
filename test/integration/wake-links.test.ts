import { createHmac } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulators } from '#local/emulators.ts';
import { HmacWakeLinks, signingKeyFromSecret, wakeLinkKey } from '#shared/auth/wake-links.ts';
import { ValidationError } from '#shared/errors.ts';
import { type LocalTable, startLocalTable } from '../support/local-table.ts';

let local: LocalTable;
let emulators: Emulators;
let dynamo: DynamoDBClient;
let tableName: string;

const KEY = 'k'.repeat(64);
/** The sleep a link is sent for: the connection state's `since`. */
const EPISODE = 1_799_999_000_000;
const links = (now: () => number = Date.now, key = KEY) =>
  new HmacWakeLinks(async () => key, dynamo, tableName, now);

beforeAll(async () => {
  local = await startLocalTable('wake-links');
  ({ emulators, dynamo, tableName } = local);
});

afterAll(async () => {
  await local?.stop();
});

/** Replaces the character at `index` with a different one of the same alphabet. */
const flip = (token: string, index: number) => {
  const c = token[index];
  return token.slice(0, index) + (c === 'A' ? 'B' : 'A') + token.slice(index + 1);
};

describe('wake links', () => {
  it('signs a URL-safe token that verifies to its claims', async () => {
    const now = 1_800_000_000_000;
    const token = await links(() => now).sign('msp-main', EPISODE);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(encodeURIComponent(token)).toBe(token);
    const check = await links(() => now + 1000).verify(token);
    expect(check.ok).toBe(true);
    if (check.ok) {
      expect(check.claims.connectionId).toBe('msp-main');
      expect(check.claims.episode).toBe(EPISODE);
      expect(check.claims.expiresAt).toBe(now + 3_600_000);
      expect(check.claims.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
  });

  it('refuses a token with any one character changed, in the payload or the signature', async () => {
    const token = await links().sign('msp-main', EPISODE);
    const dot = token.indexOf('.');
    // every position, including the last signature character whose low bits base64url decoding ignores
    for (let i = 0; i < token.length; i++) {
      if (i === dot) continue;
      const check = await links().verify(flip(token, i));
      expect(check, `position ${i}`).toMatchObject({ ok: false, status: 403 });
      if (!check.ok) {
        expect(['wake link signature is invalid', 'malformed wake link']).toContain(check.message);
      }
    }
    expect(await links().verify(flip(token, 0))).toMatchObject({ message: 'wake link signature is invalid' });
    expect(await links().verify(flip(token, token.length - 1))).toMatchObject({
      message: 'wake link signature is invalid',
    });
  });

  it('refuses a signature that only differs in the bits base64url decoding ignores', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const token = await links().sign('msp-main', EPISODE);
    const last = token.at(-1) ?? '';
    const lenient = token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    const signature = (t: string) => Buffer.from(t.split('.')[1] ?? '', 'base64url');
    expect(signature(lenient)).toEqual(signature(token)); // same bytes, different text
    expect(await links().verify(lenient)).toMatchObject({ ok: false, status: 403 });
  });

  it('refuses malformed tokens', async () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c', `${'x'.repeat(2000)}.${'y'.repeat(43)}`, 'éé.éé']) {
      expect(await links().verify(bad), bad).toEqual({
        ok: false,
        status: 403,
        message: 'malformed wake link',
      });
    }
  });

  it('refuses an expired link, and says so only after the signature checked out', async () => {
    const now = 1_800_000_000_000;
    const token = await links(() => now).sign('msp-main', EPISODE, 60_000);
    expect((await links(() => now + 59_999).verify(token)).ok).toBe(true);
    expect(await links(() => now + 60_000).verify(token)).toEqual({
      ok: false,
      status: 403,
      message: 'wake link has expired',
    });
    expect(await links(() => now + 60_000).verify(flip(token, token.length - 2))).toMatchObject({
      message: 'wake link signature is invalid',
    });
  });

  it('refuses a link signed with another key', async () => {
    const token = await links(Date.now, 'another-key').sign('msp-main', EPISODE);
    expect(await links().verify(token)).toEqual({
      ok: false,
      status: 403,
      message: 'wake link signature is invalid',
    });
  });

  it('consumes a link once', async () => {
    const token = await links().sign('msp-main', EPISODE);
    const check = await links().verify(token);
    if (!check.ok) throw new Error(check.message);
    expect(await links().consume(check.claims)).toBe(true);
    expect(await links().consume(check.claims)).toBe(false);
    const item = await dynamo.send(
      new GetItemCommand({
        TableName: tableName,
        Key: wakeLinkKey(check.claims.nonce),
        ConsistentRead: true,
      }),
    );
    expect(Number(item.Item?.ttl?.N)).toBe(Math.ceil(check.claims.expiresAt / 1000) + 86_400);

    // racing consumers of one link: exactly one wins
    const other = await links().verify(await links().sign('msp-main', EPISODE));
    if (!other.ok) throw new Error(other.message);
    const results = await Promise.all(Array.from({ length: 10 }, () => links().consume(other.claims)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  // Issue 21: a link is bound to the sleep it was sent for; links signed before that are refused.
  it('carries the sleep episode it was signed for, and refuses a link signed without one', async () => {
    const now = 1_800_000_000_000;
    const check = await links(() => now).verify(await links(() => now).sign('msp-main', EPISODE));
    expect(check).toMatchObject({ ok: true, claims: { connectionId: 'msp-main', episode: EPISODE } });

    // a link as signed before episodes existed: {connectionId, expiresAt, nonce}, validly signed
    const payload = Buffer.from(
      JSON.stringify({ connectionId: 'msp-main', expiresAt: now + 3_600_000, nonce: 'A'.repeat(22) }),
    ).toString('base64url');
    const old = `${payload}.${createHmac('sha256', KEY).update(payload, 'ascii').digest('base64url')}`;
    expect(await links(() => now).verify(old)).toEqual({
      ok: false,
      status: 403,
      message: 'wake link claims are malformed',
    });
    for (const bad of [-1, 1.5, Number.NaN]) {
      await expect(links().sign('msp-main', bad), String(bad)).rejects.toBeInstanceOf(ValidationError);
    }
  });

  // Issue 21: GET of a used link says so; reading the marker must not write one (mail scanners open links).
  it('reads when a link was used, without using it', async () => {
    let now = 1_800_000_000_000;
    const clock = () => now;
    const check = await links(clock).verify(await links(clock).sign('msp-main', EPISODE));
    if (!check.ok) throw new Error(check.message);
    expect(await links(clock).usedAt(check.claims)).toBeUndefined();
    expect(await links(clock).usedAt(check.claims)).toBeUndefined();
    now += 5_000;
    expect(await links(clock).consume(check.claims)).toBe(true);
    now += 5_000;
    expect(await links(clock).usedAt(check.claims)).toBe(now - 5_000);
    expect(await links(clock).consume(check.claims)).toBe(false);
  });

  it('validates what it signs', async () => {
    await expect(links().sign('', EPISODE)).rejects.toBeInstanceOf(ValidationError);
    await expect(links().sign('has space', EPISODE)).rejects.toBeInstanceOf(ValidationError);
    await expect(links().sign('x'.repeat(65), EPISODE)).rejects.toBeInstanceOf(ValidationError);
    await expect(links().sign('msp-main', EPISODE, 0)).rejects.toBeInstanceOf(ValidationError);
  });

  it('reads the signing key from Secrets Manager once', async () => {
    const client = new SecretsManagerClient({
      region: emulators.region,
      endpoint: emulators.endpoints.secretsManager,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const secretId = 'autotask-governor/test/wake-link-signing-key';
      // the deployed secret is a plain generated string, not JSON
      await client.send(new CreateSecretCommand({ Name: secretId, SecretString: KEY }));
      const key = signingKeyFromSecret(client, secretId);
      expect(await key()).toBe(KEY);
      await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: 'rotated' }));
      expect(await key()).toBe(KEY); // cached for the life of the process
      const fromSecret = new HmacWakeLinks(key, dynamo, tableName);
      expect((await links().verify(await fromSecret.sign('msp-main', EPISODE))).ok).toBe(true);

      const missing = signingKeyFromSecret(client, 'autotask-governor/test/missing');
      await expect(missing()).rejects.toThrow();
    } finally {
      client.destroy();
    }
  });
});
