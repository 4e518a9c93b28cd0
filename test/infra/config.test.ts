import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { workerEventSource } from '#shared/config/resources.ts';
import { ConfigError, DEFAULT_ZONE_DISCOVERY_URL, loadConfig } from '../../infra/config.ts';

const base = { senderEmail: 'alerts@msp.example' };
const load = (context: Record<string, unknown>) => loadConfig((key) => context[key]);
const errorOf = (context: Record<string, unknown>): ConfigError => {
  try {
    load(context);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('configuration from CDK context', () => {
  it('applies the defaults (worker event source defaults from resources.ts)', () => {
    expect(load(base)).toEqual({
      stage: 'prod',
      senderEmail: 'alerts@msp.example',
      createSenderIdentity: true,
      alertRecipients: [],
      alarmEmail: undefined,
      workerBatchSize: workerEventSource.batchSize,
      workerBatchingWindowSeconds: workerEventSource.maxBatchingWindowSeconds,
      workerMaxConcurrency: workerEventSource.maxConcurrency,
      apiThrottleRate: 50,
      apiThrottleBurst: 100,
      replyQueueArns: [],
      logRetentionDays: 30,
      logLevel: 'info',
      zoneDiscoveryUrl: DEFAULT_ZONE_DISCOVERY_URL,
      corsOrigins: [],
    });
  });

  it('accepts the context committed in cdk.json (a fresh clone synthesizes)', () => {
    const cdkJson = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8'));
    expect(cdkJson.notices).toBe(false);
    expect(cdkJson.context['cli-telemetry']).toBe(false);
    expect(load(cdkJson.context)).toMatchObject({ stage: 'prod', senderEmail: 'alerts@example.com' });
  });

  it('parses -c flags, which arrive as strings', () => {
    const config = load({
      ...base,
      workerBatchSize: '5',
      workerBatchingWindowSeconds: '0',
      workerMaxConcurrency: '20',
      apiThrottleRate: '12.5',
      createSenderIdentity: 'false',
      alertRecipients: 'a@msp.example, b@msp.example',
      replyQueueArns: '["arn:aws:sqs:eu-west-1:123456789012:replies"]',
      corsOrigins: 'https://ops.msp.example',
      logRetentionDays: '90',
    });
    expect(config).toMatchObject({
      workerBatchSize: 5,
      workerBatchingWindowSeconds: 0,
      workerMaxConcurrency: 20,
      apiThrottleRate: 12.5,
      createSenderIdentity: false,
      alertRecipients: ['a@msp.example', 'b@msp.example'],
      replyQueueArns: ['arn:aws:sqs:eu-west-1:123456789012:replies'],
      corsOrigins: ['https://ops.msp.example'],
      logRetentionDays: 90,
    });
  });

  it.each([
    [{}, 'senderEmail', /is required/],
    [{ senderEmail: 'not-an-address' }, 'senderEmail', /e-mail address/],
    [{ ...base, alarmEmail: 'ops@' }, 'alarmEmail', /e-mail address/],
    [{ ...base, alertRecipients: ['ok@msp.example', 'nope'] }, 'alertRecipients', /"nope"/],
    [{ ...base, stage: 'Prod!' }, 'stage', /a-z/],
    [{ ...base, workerBatchSize: 101 }, 'workerBatchSize', /integer from 1 to 100/],
    [{ ...base, workerBatchingWindowSeconds: 301 }, 'workerBatchingWindowSeconds', /from 0 to 300/],
    // Lambda refuses a batch above 10 messages without a batching window
    [
      { ...base, workerBatchSize: 11, workerBatchingWindowSeconds: 0 },
      'workerBatchingWindowSeconds',
      /at least 1 when workerBatchSize is above 10/,
    ],
    [{ ...base, workerBatchSize: 'ten' }, 'workerBatchSize', /integer/],
    [{ ...base, workerMaxConcurrency: 1 }, 'workerMaxConcurrency', /from 2 to 1000/],
    [{ ...base, apiThrottleRate: -1 }, 'apiThrottleRate', /number from 1/],
    [{ ...base, apiThrottleBurst: 2.5 }, 'apiThrottleBurst', /integer/],
    [{ ...base, logRetentionDays: 31 }, 'logRetentionDays', /one of 1, 3, 5/],
    [{ ...base, logLevel: 'verbose' }, 'logLevel', /debug, info, warn, error/],
    [{ ...base, zoneDiscoveryUrl: 'http://insecure.example' }, 'zoneDiscoveryUrl', /https/],
    [
      { ...base, replyQueueArns: ['arn:aws:sns:eu-west-1:123456789012:topic'] },
      'replyQueueArns',
      /SQS queue ARN/,
    ],
    [{ ...base, replyQueueArns: '[not json' }, 'replyQueueArns', /JSON array/],
    [{ ...base, corsOrigins: ['ops.msp.example'] }, 'corsOrigins', /origin/],
    [{ ...base, createSenderIdentity: 'yes' }, 'createSenderIdentity', /true or false/],
  ])('rejects %j naming the key %s', (context, key, problem) => {
    const error = errorOf(context);
    expect(error.key).toBe(key);
    expect(error.message).toContain(`"${key}"`);
    expect(error.message).toMatch(problem);
    expect(error.message).toContain(`-c ${key}=`);
  });
});
