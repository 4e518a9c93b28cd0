import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulators } from '#local/emulators.ts';
import { DynamoTokenStore, tokenKey } from '#shared/auth/tokens.ts';
import { ValidationError } from '#shared/errors.ts';
import { type LocalTable, startLocalTable } from '../support/local-table.ts';

let local: LocalTable;
let emulators: Emulators;
let dynamo: DynamoDBClient;
let tableName: string;
let store: DynamoTokenStore;

beforeAll(async () => {
  local = await startLocalTable('auth-tokens');
  ({ emulators, dynamo, tableName } = local);
  store = new DynamoTokenStore(dynamo, tableName);
});

afterAll(async () => {
  await local?.stop();
});

const storedItem = async (id: string) =>
  (await dynamo.send(new GetItemCommand({ TableName: tableName, Key: tokenKey(id), ConsistentRead: true })))
    .Item;

describe('API tokens', () => {
  it('creates a token that verifies with its name, in the agt_<id>_<secret> format', async () => {
    const created = await store.create('ops laptop', 'operator');
    expect(created.token).toMatch(/^agt_[A-Za-z0-9]{12}_[0-9a-f]{64}$/);
    expect(created.token.split('_')[1]).toBe(created.id);
    expect(await store.verify(`Bearer ${created.token}`)).toEqual({
      ok: true,
      id: created.id,
      name: 'ops laptop',
      role: 'operator',
    });
    // the scheme is case-insensitive
    expect((await store.verify(`bearer ${created.token}`)).ok).toBe(true);
  });

  it('answers 401 without a bearer credential', async () => {
    for (const header of [undefined, '', '   ', 'Basic x', 'Bearer', 'Bearer ', 'Token agt_x']) {
      const check = await store.verify(header);
      expect(check, String(header)).toMatchObject({ ok: false, status: 401 });
      if (!check.ok) expect(check.message).not.toBe('');
    }
  });

  it('answers 403 for a wrong secret, an unknown id, a malformed token and a revoked token', async () => {
    const { token, id } = await store.create('ci', 'viewer');
    const secret = token.slice(-64);
    const wrongSecret = `agt_${id}_${secret.slice(0, -1)}${secret.endsWith('0') ? '1' : '0'}`;
    const unknownId = `agt_ZZZZZZZZZZZZ_${secret}`;
    const wrong = await store.verify(`Bearer ${wrongSecret}`);
    const unknown = await store.verify(`Bearer ${unknownId}`);
    expect(wrong).toMatchObject({ ok: false, status: 403 });
    // neither the status nor the message tells an unknown id from a wrong secret
    expect(unknown).toEqual(wrong);
    for (const bad of ['agt_short_abc', `xyz_${id}_${secret}`, `agt_${id}_${secret.toUpperCase()}`]) {
      expect(await store.verify(`Bearer ${bad}`), bad).toMatchObject({ ok: false, status: 403 });
    }

    expect(await store.revoke(id)).toBe(true);
    const revoked = await store.verify(`Bearer ${token}`);
    expect(revoked).toMatchObject({ ok: false, status: 403, message: 'API token has been revoked' });
    // a wrong secret for a revoked id still just says "invalid"
    expect(await store.verify(`Bearer ${wrongSecret}`)).toEqual(wrong);
  });

  it('revoke is false for a token that does not exist and keeps the first revocation time', async () => {
    expect(await store.revoke('AAAAAAAAAAAA')).toBe(false);
    expect(await store.revoke('not an id')).toBe(false);
    const { id } = await store.create('twice', 'viewer');
    expect(await store.revoke(id)).toBe(true);
    const first = (await storedItem(id))?.revokedAt?.S;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await store.revoke(id)).toBe(true);
    expect((await storedItem(id))?.revokedAt?.S).toBe(first);
  });

  it('lists tokens without hashes, and stores only the SHA-256 of the secret', async () => {
    const created = await store.create('listed', 'jobs');
    const listed = await store.list();
    const mine = listed.find((t) => t.id === created.id);
    expect(mine).toEqual({ id: created.id, name: 'listed', role: 'jobs', createdAt: created.createdAt });
    for (const t of listed) {
      expect(Object.keys(t).sort()).toEqual(
        t.revokedAt ? ['createdAt', 'id', 'name', 'revokedAt', 'role'] : ['createdAt', 'id', 'name', 'role'],
      );
    }
    expect(listed.some((t) => t.revokedAt)).toBe(true);

    const item = await storedItem(created.id);
    const secret = created.token.slice(-64);
    const { createHash } = await import('node:crypto');
    expect(item?.hash?.S).toBe(createHash('sha256').update(secret).digest('hex'));
    const raw = JSON.stringify(item);
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain(created.token);
  });

  it('validates names and roles', async () => {
    await expect(store.create('', 'viewer')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.create('   ', 'viewer')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.create('x'.repeat(65), 'viewer')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.create('two\nlines', 'viewer')).rejects.toBeInstanceOf(ValidationError);
    expect((await store.create('y'.repeat(64), 'viewer')).name).toHaveLength(64);
    expect((await store.create(`  ${'z'.repeat(64)}  `, 'viewer')).name).toBe('z'.repeat(64));
    // biome-ignore lint/suspicious/noExplicitAny: a role from outside the type, as the CLI could pass
    await expect(store.create('root', 'root' as any)).rejects.toThrow(/role must be one of/);
  });

  it('a token stored before roles acts as admin (and is listed as legacy); an unknown stored role grants nothing', async () => {
    const old = await store.create('from before roles', 'viewer');
    const unknown = await store.create('from the future', 'viewer');
    const edit = (id: string, update: string, values?: Record<string, { S: string }>) =>
      dynamo.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: tokenKey(id),
          UpdateExpression: update,
          ExpressionAttributeNames: { '#role': 'role' },
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
    await edit(old.id, 'REMOVE #role');
    await edit(unknown.id, 'SET #role = :r', { ':r': { S: 'superuser' } });
    expect(await store.verify(`Bearer ${old.token}`)).toMatchObject({ ok: true, role: 'admin' });
    expect(await store.verify(`Bearer ${unknown.token}`)).toMatchObject({ ok: false, status: 403 });
    const listed = await store.list();
    expect(listed.find((t) => t.id === old.id)).toMatchObject({ role: 'admin', legacy: true });
    expect(listed.find((t) => t.id === unknown.id)).toMatchObject({ role: 'unknown' });
  });

  it('npm run token: create prints the token once, list and revoke work, bad usage exits 2', async () => {
    const run = promisify(execFile);
    const env = { ...process.env, ...emulators.env, TABLE_NAME: tableName };
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], { env, cwd: process.cwd() });

    const created = await cli('create', '--name', 'from the cli', '--role', 'operator');
    const token = created.stdout.trim();
    expect(token).toMatch(/^agt_[A-Za-z0-9]{12}_[0-9a-f]{64}$/);
    expect(created.stderr).toMatch(/cannot be shown again/);
    expect(created.stderr).toMatch(/role operator/);
    expect(await store.verify(`Bearer ${token}`)).toMatchObject({
      ok: true,
      name: 'from the cli',
      role: 'operator',
    });
    // without --role: the least a token can do
    const plain = (await cli('create', '--name', 'no role given')).stdout.trim();
    expect(await store.verify(`Bearer ${plain}`)).toMatchObject({ ok: true, role: 'viewer' });

    const id = token.split('_')[1] ?? '';
    const listed = (await cli('list')).stdout.trim().split('\n');
    expect(listed.map((line) => JSON.parse(line).id)).toContain(id);
    expect(listed.map((line) => JSON.parse(line)).find((t) => t.id === id)?.role).toBe('operator');
    expect(listed.join('\n')).not.toContain(token.slice(-64));

    await cli('revoke', id);
    expect(await store.verify(`Bearer ${token}`)).toMatchObject({ ok: false, status: 403 });
    await expect(cli('revoke', 'AAAAAAAAAAAA')).rejects.toMatchObject({ code: 1 });
    await expect(cli('create')).rejects.toMatchObject({ code: 2 });
    await expect(cli('create', '--name', '')).rejects.toMatchObject({ code: 2 });
    await expect(cli('frobnicate')).rejects.toMatchObject({ code: 2 });
    await expect(cli('create', '--name', 'x', '--role', 'root')).rejects.toMatchObject({ code: 2 });
    await expect(cli('list', '--role', 'admin')).rejects.toMatchObject({ code: 2 });
  });
});
