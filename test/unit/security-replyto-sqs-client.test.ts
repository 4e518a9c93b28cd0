import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

// Issue 21: the project's SQS client (shared/aws/sqs.ts) never sends to the host a queue URL names:
// the SDK's default would send a signed SendMessage, session token included, to any `replyTo` host.

const ENV_KEYS = [
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
const TOKEN = 'lambda-session-token-that-must-not-leave';

/** A loopback HTTP server that records what reaches it and answers like an SQS error. */
const listen = async () => {
  const hits: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.headers);
    req.resume();
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify({ __type: 'com.amazonaws.sqs#InvalidAddress', message: 'not here' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { hits, url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
};

/** Imports shared/aws/sqs.ts afresh under `env` (it builds its client at import time, as in Lambda). */
const freshClient = async (env: Record<string, string | undefined>): Promise<SQSClient> => {
  for (const key of ENV_KEYS) delete process.env[key];
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: TOKEN,
    ...env,
  });
  vi.resetModules();
  return (await import('#shared/aws/sqs.ts')).sqs;
};

/**
 * Notes the host every request is about to go to; lets requests to the loopback listeners through
 * and stops any other (this test never reaches AWS).
 */
const intercept = (client: SQSClient) => {
  const targets: string[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { hostname?: string; port?: number };
      targets.push(`${request.hostname}${request.port ? `:${request.port}` : ''}`);
      if (request.hostname === '127.0.0.1') return next(args);
      throw Object.assign(new Error('stopped by the test before leaving the machine'), {
        name: 'Intercepted',
      });
    },
    { step: 'finalizeRequest', priority: 'low', name: 'testInterceptor' },
  );
  return targets;
};

let foreign: Awaited<ReturnType<typeof listen>>;
let configured: Awaited<ReturnType<typeof listen>>;
let client: SQSClient | undefined;

beforeAll(async () => {
  [foreign, configured] = await Promise.all([listen(), listen()]);
});

afterEach(() => {
  client?.destroy();
  client = undefined;
});

afterAll(async () => {
  await Promise.all([foreign.close(), configured.close()]);
  for (const key of ENV_KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe('the SQS client of the functions', () => {
  it('in Lambda (no endpoint variable): useQueueUrlAsEndpoint is false and a foreign queue URL gets nothing', async () => {
    client = await freshClient({});
    expect(client.config.useQueueUrlAsEndpoint).toBe(false);
    const targets = intercept(client);
    const queueUrl = `${foreign.url}/123456789012/stolen-results`;
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"secret":"result"}' })),
    ).rejects.toThrow();
    expect(foreign.hits.map((h) => h['x-amz-security-token'])).toEqual([]);
    // it would have gone to SQS's own regional endpoint
    expect(targets).toEqual(['sqs.eu-west-1.amazonaws.com']);
  });

  it('locally (AWS_ENDPOINT_URL_SQS set): everything goes to the configured endpoint', async () => {
    client = await freshClient({ AWS_ENDPOINT_URL_SQS: configured.url });
    expect(client.config.useQueueUrlAsEndpoint).toBe(false);
    const before = { configured: configured.hits.length, foreign: foreign.hits.length };
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: `${foreign.url}/123456789012/q`, MessageBody: 'x' })),
    ).rejects.toThrow();
    expect(foreign.hits.length).toBe(before.foreign);
    expect(configured.hits.length).toBeGreaterThan(before.configured);
  });
});
