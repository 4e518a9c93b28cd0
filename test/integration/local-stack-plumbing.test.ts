import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '#local/emulators.ts';
import { startHttpGateway } from '#local/http-gateway.ts';
import { createResources, type Resources } from '#local/resources.ts';
import { putSecret } from '#local/secrets.ts';
import { startPoller } from '#local/sqs-poller.ts';
import { queues, table, WORKER_TIMEOUT_SECONDS } from '#shared/config/resources.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let emulators: Emulators;
let resources: Resources;
let startupMs: number;
let sqs: SQSClient;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  const started = performance.now();
  emulators = await startEmulators();
  startupMs = performance.now() - started;
  resources = await createResources(emulators, { prefix: 'plumbing' });
  sqs = new SQSClient({
    region: emulators.region,
    endpoint: emulators.endpoints.sqs,
    useQueueUrlAsEndpoint: false,
    credentials,
  });
  dynamo = new DynamoDBClient({
    region: emulators.region,
    endpoint: emulators.endpoints.dynamodb,
    credentials,
  });
});

afterAll(async () => {
  sqs?.destroy();
  dynamo?.destroy();
  await emulators?.stop();
});

/** A queue with a short visibility timeout, optionally redriving to a fresh dead-letter queue. */
const testQueue = async (name: string, opts: { visibility?: number; maxReceiveCount?: number } = {}) => {
  const arnOf = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn ?? '';
  let dlq: { url: string; arn: string } | undefined;
  if (opts.maxReceiveCount) {
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl ?? '';
    dlq = { url, arn: await arnOf(url) };
  }
  const url =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            VisibilityTimeout: String(opts.visibility ?? 1),
            ...(dlq
              ? {
                  RedrivePolicy: JSON.stringify({
                    deadLetterTargetArn: dlq.arn,
                    maxReceiveCount: opts.maxReceiveCount,
                  }),
                }
              : {}),
          },
        }),
      )
    ).QueueUrl ?? '';
  return { url, arn: await arnOf(url), dlq };
};

const receiveAll = async (queueUrl: string, waitSeconds = 0): Promise<Message[]> =>
  (
    await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
      }),
    )
  ).Messages ?? [];

const waitFor = async (predicate: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
};

describe('emulators', () => {
  it('start fast on 127.0.0.1 and describe themselves', () => {
    expect(startupMs).toBeLessThan(2000);
    for (const url of Object.values(emulators.endpoints)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulators.env).toMatchObject({
      AWS_REGION: emulators.region,
      AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: emulators.endpoints.sqs,
      AWS_ENDPOINT_URL_SES: emulators.endpoints.ses,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: emulators.endpoints.secretsManager,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(emulators.env.AWS_ACCESS_KEY_ID).toBeTruthy();
    expect(emulators.env.AWS_SES_ACCOUNT).toBeTruthy();
  });

  it('a second set starts and stops cleanly alongside, releasing its ports', async () => {
    const other = await startEmulators({ region: 'eu-west-1' });
    expect(other.region).toBe('eu-west-1');
    expect(other.endpoints.dynamodb).not.toBe(emulators.endpoints.dynamodb);
    await other.stop();
    await other.stop(); // idempotent
    await expect(fetch(`${other.endpoints.secretsManager}/`)).rejects.toThrow();
    await expect(fetch(`${other.endpoints.sqs}/health`)).rejects.toThrow();
  });

  it('counts DynamoDB requests as they arrive at the emulator', async () => {
    emulators.counters.reset();
    expect(emulators.counters.dynamodbRequests()).toBe(0);
    for (const sk of ['a', 'b', 'c']) {
      await dynamo.send(
        new PutItemCommand({
          TableName: resources.tableName,
          Item: { [table.partitionKey]: { S: 'counter' }, [table.sortKey]: { S: sk } },
        }),
      );
    }
    await dynamo.send(
      new GetItemCommand({
        TableName: resources.tableName,
        Key: { [table.partitionKey]: { S: 'counter' }, [table.sortKey]: { S: 'a' } },
      }),
    );
    expect(emulators.counters.dynamodbRequests()).toBe(4);
    expect(emulators.counters.byOperation()).toEqual({ PutItem: 3, GetItem: 1 });
    emulators.counters.reset();
    expect(emulators.counters.byOperation()).toEqual({});
  });

  it('returns the item that failed a condition when asked to, as DynamoDB does (dynalite alone does not)', async () => {
    const Key = { [table.partitionKey]: { S: 'condition' }, [table.sortKey]: { S: 'failed' } };
    await dynamo.send(
      new PutItemCommand({ TableName: resources.tableName, Item: { ...Key, n: { N: '5' } } }),
    );
    const update = (returnItem: boolean) =>
      dynamo
        .send(
          new UpdateItemCommand({
            TableName: resources.tableName,
            Key,
            UpdateExpression: 'SET n = :one',
            ConditionExpression: 'n < :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
            ...(returnItem ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
          }),
        )
        .catch((err: unknown) => err);
    const asked = await update(true);
    expect(asked).toBeInstanceOf(ConditionalCheckFailedException);
    expect((asked as ConditionalCheckFailedException).Item).toEqual({ ...Key, n: { N: '5' } });
    expect((await update(false)) as ConditionalCheckFailedException).toMatchObject({ Item: undefined });
  });

  it('captures SES v2 sends, readable and clearable through the store', async () => {
    const ses = new SESv2Client({ region: emulators.region, endpoint: emulators.endpoints.ses, credentials });
    try {
      await emulators.clearSes();
      await ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'governor@msp.example',
          Destination: { ToAddresses: ['ops@msp.example'] },
          Content: { Simple: { Subject: { Data: 'hello' }, Body: { Text: { Data: 'body' } } } },
        }),
      );
      const store = await emulators.sesStore();
      expect(store).toHaveLength(1);
      expect(store[0]).toMatchObject({ from: 'governor@msp.example', subject: 'hello' });
      await emulators.clearSes();
      expect(await emulators.sesStore()).toHaveLength(0);
    } finally {
      ses.destroy();
    }
  });
});

describe('Secrets Manager emulator with the real SDK client', () => {
  it('creates, reads, updates, describes and deletes; unknown secrets are ResourceNotFoundException', async () => {
    const sm = new SecretsManagerClient({
      region: emulators.region,
      endpoint: emulators.endpoints.secretsManager,
      credentials,
    });
    try {
      const created = await sm.send(
        new CreateSecretCommand({ Name: 'plumbing/one', SecretString: '{"secret":"a"}', Description: 'd' }),
      );
      expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:plumbing\/one-\w{6}$/);
      const byName = await sm.send(new GetSecretValueCommand({ SecretId: 'plumbing/one' }));
      expect(byName.SecretString).toBe('{"secret":"a"}');
      expect(byName.CreatedDate).toBeInstanceOf(Date);
      const byArn = await sm.send(new GetSecretValueCommand({ SecretId: created.ARN }));
      expect(byArn.Name).toBe('plumbing/one');

      const put = await sm.send(new PutSecretValueCommand({ SecretId: 'plumbing/one', SecretString: 'b' }));
      expect(put.VersionId).not.toBe(created.VersionId);
      expect((await sm.send(new GetSecretValueCommand({ SecretId: 'plumbing/one' }))).SecretString).toBe('b');
      const described = await sm.send(new DescribeSecretCommand({ SecretId: 'plumbing/one' }));
      expect(described.Description).toBe('d');
      expect(described.VersionIdsToStages?.[put.VersionId ?? '']).toEqual(['AWSCURRENT']);

      const error = await sm
        .send(new GetSecretValueCommand({ SecretId: 'plumbing/missing' }))
        .catch((e) => e);
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect(error.name).toBe('ResourceNotFoundException');
      expect(error.$metadata.httpStatusCode).toBe(400);

      await sm.send(new DeleteSecretCommand({ SecretId: 'plumbing/one', ForceDeleteWithoutRecovery: true }));
      await expect(sm.send(new GetSecretValueCommand({ SecretId: 'plumbing/one' }))).rejects.toBeInstanceOf(
        ResourceNotFoundException,
      );

      // The seeding helper creates, then overwrites.
      const options = { endpoint: emulators.endpoints.secretsManager, region: emulators.region };
      await putSecret('plumbing/seeded', { secret: 'x' }, options);
      await putSecret('plumbing/seeded', { secret: 'y' }, options);
      const seeded = await sm.send(new GetSecretValueCommand({ SecretId: 'plumbing/seeded' }));
      expect(JSON.parse(seeded.SecretString ?? '')).toEqual({ secret: 'y' });
    } finally {
      sm.destroy();
    }
  });
});

describe('resources', () => {
  it('creates the table with the shared key schema, on demand', async () => {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: resources.tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: table.partitionKey, KeyType: 'HASH' },
      { AttributeName: table.sortKey, KeyType: 'RANGE' },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('creates the six queues with visibility, retention and redrive as resources.ts says', async () => {
    const attrs = async (url: string) =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
        .Attributes ?? {};
    const [jobs, critical, delay, parked, results, deadLetter] = await Promise.all([
      attrs(resources.queueUrls.jobs),
      attrs(resources.queueUrls.critical),
      attrs(resources.queueUrls.delay),
      attrs(resources.queueUrls.parked),
      attrs(resources.queueUrls.results),
      attrs(resources.queueUrls.deadLetter),
    ]);
    for (const [name, a] of [
      ['jobs', jobs],
      ['critical', critical],
      ['delay', delay],
    ] as const) {
      expect(a.VisibilityTimeout).toBe(String(queues[name].visibilityTimeoutSeconds));
      expect(JSON.parse(a.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: resources.queueArns.deadLetter,
        maxReceiveCount: queues[name].maxReceiveCount,
      });
    }
    expect(results.VisibilityTimeout).toBe(String(queues.results.visibilityTimeoutSeconds));
    // parked jobs wait unpolled, as long as SQS keeps them, and are never redriven
    expect(parked.MessageRetentionPeriod).toBe(String(queues.parked.retentionSeconds));
    expect(parked.RedrivePolicy).toBeUndefined();
    expect(deadLetter.MessageRetentionPeriod).toBe(String(queues.deadLetter.retentionSeconds));
    expect(deadLetter.QueueArn).toBe(resources.queueArns.deadLetter);
    expect(resources.queueArns.jobs).toMatch(/:plumbing-jobs$/);
    expect(resources.env).toEqual({
      TABLE_NAME: resources.tableName,
      JOBS_QUEUE_URL: resources.queueUrls.jobs,
      CRITICAL_QUEUE_URL: resources.queueUrls.critical,
      DELAY_QUEUE_URL: resources.queueUrls.delay,
      PARKED_QUEUE_URL: resources.queueUrls.parked,
      RESULTS_QUEUE_URL: resources.queueUrls.results,
      DEAD_LETTER_QUEUE_URL: resources.queueUrls.deadLetter,
      REPLY_QUEUE_URLS: 'https://sqs.us-east-1.amazonaws.com/000000000000/plumbing-replies',
    });
  });

  it('is idempotent', async () => {
    expect(await createResources(emulators, { prefix: 'plumbing' })).toEqual(resources);
  });

  it('holds back a message sent with DelaySeconds 2 for about 2 s', async () => {
    const sentAt = Date.now();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: resources.queueUrls.results,
        MessageBody: 'later',
        DelaySeconds: 2,
      }),
    );
    expect(await receiveAll(resources.queueUrls.results, 1)).toHaveLength(0);
    let got: Message[] = [];
    while (got.length === 0 && Date.now() - sentAt < 5000)
      got = await receiveAll(resources.queueUrls.results, 1);
    expect(got.map((m) => m.Body)).toEqual(['later']);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1900);
  });
});

describe('SQS poller (the local event source mapping)', () => {
  it('delivers Lambda-shaped batches, deletes successes, redelivers reported failures, then dead-letters them', async () => {
    const q = await testQueue('poller-partial', { visibility: 1, maxReceiveCount: 2 });
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: q.url,
        Entries: ['ok-1', 'ok-2', 'fail'].map((body, i) => ({
          Id: String(i),
          MessageBody: body,
          MessageAttributes: {
            kind: { DataType: 'String', StringValue: body },
            blob: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
          },
        })),
      }),
    );
    const events: SQSEvent[] = [];
    const contexts: Context[] = [];
    const poller = startPoller({
      queueUrl: q.url,
      queueArn: q.arn,
      batchSize: 10,
      maxConcurrency: 1,
      functionName: 'plumbing-worker',
      region: emulators.region,
      endpoint: emulators.endpoints.sqs,
      handler: async (event, context) => {
        events.push(event);
        contexts.push(context);
        return {
          batchItemFailures: event.Records.filter((r) => r.body === 'fail').map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
    });
    try {
      await waitFor(() => events.length >= 1, 5000);
      const first = events[0]!.Records;
      expect(first.map((r) => r.body).sort()).toEqual(['fail', 'ok-1', 'ok-2']);
      const record = first.find((r) => r.body === 'ok-1')!;
      expect(record).toMatchObject({
        eventSource: 'aws:sqs',
        eventSourceARN: q.arn,
        awsRegion: emulators.region,
        md5OfBody: createHash('md5').update('ok-1').digest('hex'),
        messageAttributes: {
          kind: { stringValue: 'ok-1', stringListValues: [], binaryListValues: [], dataType: 'String' },
          blob: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
        },
      });
      expect(record.messageId).toMatch(/\S+/);
      expect(record.receiptHandle).toMatch(/\S+/);
      expect(record.attributes.ApproximateReceiveCount).toBe('1');
      expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);
      expect(record.attributes.SenderId).toBeTruthy();
      expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThan(0);
      expect(contexts[0]).toMatchObject({
        functionName: 'plumbing-worker',
        invokedFunctionArn: `arn:aws:lambda:${emulators.region}:000000000000:function:plumbing-worker`,
      });
      expect(contexts[0]!.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
      const remaining = contexts[0]!.getRemainingTimeInMillis();
      expect(remaining).toBeGreaterThan((WORKER_TIMEOUT_SECONDS - 5) * 1000);
      expect(remaining).toBeLessThanOrEqual(WORKER_TIMEOUT_SECONDS * 1000);

      // The failure comes back alone after the 1 s visibility timeout: the successes were deleted.
      await waitFor(() => events.length >= 2, 5000);
      expect(events[1]!.Records.map((r) => [r.body, r.attributes.ApproximateReceiveCount])).toEqual([
        ['fail', '2'],
      ]);
      // After maxReceiveCount (2) receives it is redriven to the dead-letter queue.
      let dead: Message[] = [];
      const deadline = Date.now() + 6000;
      while (dead.length === 0 && Date.now() < deadline) dead = await receiveAll(q.dlq!.url, 1);
      expect(dead.map((m) => m.Body)).toEqual(['fail']);
      expect(events).toHaveLength(2);
    } finally {
      await poller.stop();
    }
    expect(poller.stats()).toEqual({ invocations: 2, records: 4, failures: 2, errors: 0 });
  });

  it('deletes nothing when the handler throws: the batch comes back after the visibility timeout', async () => {
    const q = await testQueue('poller-throws', { visibility: 1 });
    await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'flaky' }));
    const counts: string[] = [];
    const poller = startPoller({
      queueUrl: q.url,
      queueArn: q.arn,
      batchSize: 10,
      maxConcurrency: 2,
      region: emulators.region,
      endpoint: emulators.endpoints.sqs,
      handler: async (event) => {
        counts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
        if (counts.length === 1) throw new Error('boom');
      },
    });
    try {
      await waitFor(() => counts.length >= 2, 5000);
      expect(counts).toEqual(['1', '2']);
      await sleep(1300); // past another visibility timeout: it was deleted, nothing comes back
      expect(counts).toHaveLength(2);
    } finally {
      await poller.stop();
    }
    expect(poller.stats()).toMatchObject({ invocations: 2, errors: 1, failures: 0 });
  });

  it('never runs more than maxConcurrency invocations at once', async () => {
    const q = await testQueue('poller-concurrency', { visibility: 30 });
    for (let i = 0; i < 24; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: q.url,
          Entries: Array.from({ length: Math.min(10, 24 - i) }, (_, j) => ({
            Id: String(j),
            MessageBody: String(i + j),
          })),
        }),
      );
    }
    let active = 0;
    let peak = 0;
    const seen = new Set<string>();
    const poller = startPoller({
      queueUrl: q.url,
      queueArn: q.arn,
      batchSize: 2,
      maxConcurrency: 3,
      region: emulators.region,
      endpoint: emulators.endpoints.sqs,
      handler: async (event) => {
        active += 1;
        peak = Math.max(peak, active);
        expect(event.Records.length).toBeLessThanOrEqual(2);
        await sleep(60);
        for (const r of event.Records) seen.add(r.body);
        active -= 1;
      },
    });
    try {
      await waitFor(() => seen.size === 24, 8000);
    } finally {
      await poller.stop();
    }
    expect(peak).toBe(3);
    expect(await receiveAll(q.url)).toHaveLength(0);
  });

  it('gathers a batch for up to the batching window, and gathers above 10 from several receives', async () => {
    const send = async (q: { url: string }, bodies: string[]) => {
      for (let i = 0; i < bodies.length; i += 10)
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: q.url,
            Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })),
          }),
        );
    };
    const run = async (name: string, windowSeconds: number) => {
      const q = await testQueue(name, { visibility: 30 });
      const batches: string[][] = [];
      const poller = startPoller({
        queueUrl: q.url,
        queueArn: q.arn,
        batchSize: 25,
        maxBatchingWindowSeconds: windowSeconds,
        maxConcurrency: 1,
        region: emulators.region,
        endpoint: emulators.endpoints.sqs,
        handler: async (event) => {
          batches.push(event.Records.map((r) => r.body));
        },
      });
      try {
        await send(q, ['a1', 'a2', 'a3']);
        await sleep(400);
        // a second group while the first batch is still being gathered (window) or already invoked (none)
        await send(
          q,
          Array.from({ length: 12 }, (_, i) => `b${i}`),
        );
        await waitFor(() => batches.flat().length === 15, 5000);
      } finally {
        await poller.stop();
      }
      return batches;
    };
    // a 1 s window: the 3 + 12 messages arrive 0.4 s apart and make one batch of 15
    const gathered = await run('poller-window', 1);
    expect(gathered).toHaveLength(1);
    expect(gathered[0]).toHaveLength(15);
    // no window: the first batch goes with what was there
    const eager = await run('poller-no-window', 0);
    expect(eager[0]?.sort()).toEqual(['a1', 'a2', 'a3']);
    expect(eager.slice(1).flat()).toHaveLength(12);
  });
});

describe('HTTP gateway (API Gateway HTTP API, payload 2.0)', () => {
  it('turns a request into a v2 event and maps the structured result back', async () => {
    const events: APIGatewayProxyEventV2[] = [];
    const gw = await startHttpGateway({
      handler: async (event) => {
        events.push(event);
        return {
          statusCode: 201,
          headers: { 'X-Custom': 'yes', 'content-type': 'text/plain' },
          cookies: ['session=abc; HttpOnly', 'theme=dark'],
          body: 'created',
        };
      },
    });
    try {
      const res = await fetch(`${gw.url}/v1/jobs/a%20b?x=1&x=2&y=hello%20world`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer t0ken',
          cookie: 'a=1; b=2',
          'user-agent': 'plumbing-test',
        },
        body: JSON.stringify({ hello: 'world' }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-custom')).toBe('yes');
      expect(res.headers.getSetCookie()).toEqual(['session=abc; HttpOnly', 'theme=dark']);
      expect(await res.text()).toBe('created');

      const event = events[0]!;
      expect(event).toMatchObject({
        version: '2.0',
        routeKey: '$default',
        rawPath: '/v1/jobs/a%20b',
        rawQueryString: 'x=1&x=2&y=hello%20world',
        cookies: ['a=1', 'b=2'],
        queryStringParameters: { x: '1,2', y: 'hello world' },
        body: '{"hello":"world"}',
        isBase64Encoded: false,
        requestContext: {
          http: {
            method: 'POST',
            path: '/v1/jobs/a b',
            protocol: 'HTTP/1.1',
            sourceIp: '127.0.0.1',
            userAgent: 'plumbing-test',
          },
          stage: '$default',
          routeKey: '$default',
          accountId: '000000000000',
        },
      });
      expect(event.headers['content-type']).toBe('application/json');
      expect(event.headers.authorization).toBe('Bearer t0ken');
      expect(event.headers.cookie).toBeUndefined();
      expect(event.requestContext.domainName).toBe(new URL(gw.url).host);
      expect(event.requestContext.apiId).toMatch(/^[a-z0-9]{10}$/);
      expect(event.requestContext.requestId).toBeTruthy();
      expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
      expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(5000);
    } finally {
      await gw.stop();
    }
  });

  it('base64-encodes binary bodies, decodes base64 results, and returns plain values as 200 JSON', async () => {
    const events: APIGatewayProxyEventV2[] = [];
    const gw = await startHttpGateway({
      maxBodyBytes: 1024,
      handler: async (event) => {
        events.push(event);
        if (event.rawPath === '/plain') return { ok: true, n: 1 };
        if (event.rawPath === '/string') return 'just text';
        if (event.rawPath === '/boom') throw new Error('boom');
        return {
          statusCode: 200,
          headers: { 'content-type': 'application/octet-stream' },
          body: Buffer.from([0, 255, 1]).toString('base64'),
          isBase64Encoded: true,
        };
      },
    });
    try {
      const bin = await fetch(`${gw.url}/bin`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array([9, 8, 7]),
      });
      expect(new Uint8Array(await bin.arrayBuffer())).toEqual(new Uint8Array([0, 255, 1]));
      expect(events[0]).toMatchObject({
        isBase64Encoded: true,
        body: Buffer.from([9, 8, 7]).toString('base64'),
      });
      expect(events[0]!.queryStringParameters).toBeUndefined();

      const plain = await fetch(`${gw.url}/plain`);
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toBe('application/json');
      expect(await plain.json()).toEqual({ ok: true, n: 1 });
      expect(events[1]!.body).toBeUndefined();

      const str = await fetch(`${gw.url}/string`);
      expect([str.status, await str.text()]).toEqual([200, 'just text']);

      const boom = await fetch(`${gw.url}/boom`);
      expect([boom.status, await boom.json()]).toEqual([500, { message: 'Internal Server Error' }]);

      const before = events.length;
      const big = await fetch(`${gw.url}/plain`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(2048),
      });
      expect(big.status).toBe(413);
      await big.arrayBuffer();
      expect(events.length).toBe(before);
    } finally {
      await gw.stop();
    }
  });
});
