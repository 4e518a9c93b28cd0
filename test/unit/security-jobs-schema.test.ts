import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { matchPath } from '#shared/autotask/paths.ts';
import { ValidationError } from '#shared/errors.ts';
import { JobIntake } from '#shared/jobs/intake.ts';
// a namespace import: the helpers this issue adds are looked up when a test runs
import * as schema from '#shared/jobs/schema.ts';

// Issue 21: replyTo must be one of the stack's SQS reply queues; bodies nest at most 64 levels;
// POST /jobs checks Autotask paths and methods like the worker does.

const REPLIES = 'https://sqs.eu-west-1.amazonaws.com/123456789012/crm-replies';
const base = { jobId: 'j1', connectionId: 'c1', request: { method: 'GET', path: '/Tickets/1' } };
const post = (body: unknown) => ({ ...base, request: { method: 'POST', path: '/Tickets', body } });

/** A body nested `levels` deep (the body itself is level 1), parsed from text. */
const nested = (levels: number): unknown =>
  JSON.parse(`${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`);

const refusal = (data: unknown): string => {
  try {
    schema.validateJob(data);
  } catch (err) {
    if (err instanceof ValidationError) return `${err.reason}: ${err.message}`;
    throw err;
  }
  return 'accepted';
};

describe('replyTo form', () => {
  it('accepts SQS queue URLs', () => {
    for (const replyTo of [
      REPLIES,
      'https://sqs.us-gov-west-1.amazonaws.com/123456789012/replies.fifo',
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/r',
      `https://sqs.eu-west-1.amazonaws.com/123456789012/${'q'.repeat(80)}`,
    ])
      expect(refusal({ ...base, replyTo }), replyTo).toBe('accepted');
  });

  it('refuses any other URL as invalid-job', () => {
    for (const replyTo of [
      'https://attacker.example/123456789012/q',
      'https://attacker.example/',
      'http://127.0.0.1:9324/000000000000/q',
      'http://localhost/queue',
      'http://sqs.eu-west-1.amazonaws.com/123456789012/q',
      'https://sqs.eu-west-1.amazonaws.com.attacker.example/123456789012/q',
      'https://sqs.eu-west-1.amazonaws.com@attacker.example/123456789012/q',
      'https://sqs.eu-west-1.amazonaws.com:8443/123456789012/q',
      `${REPLIES}?Action=SendMessage`,
      `${REPLIES}/extra`,
      'https://sqs.eu-west-1.amazonaws.com/12345/q',
      `https://sqs.eu-west-1.amazonaws.com/123456789012/${'q'.repeat(81)}`,
      'https://sqs.eu-west-1.amazonaws.com/123456789012/bad.name',
    ])
      expect(refusal({ ...base, replyTo }), replyTo).toMatch(/^invalid-job: replyTo: /);
  });

  it('reads REPLY_QUEUE_URLS, refuses a replyTo not in it, and derives URLs from ARNs', () => {
    expect(schema.parseReplyQueueUrls(undefined)).toEqual([]);
    expect(schema.parseReplyQueueUrls('')).toEqual([]);
    expect(
      schema.parseReplyQueueUrls(` ${REPLIES} ,, https://sqs.eu-west-1.amazonaws.com/123456789012/b `),
    ).toEqual([REPLIES, 'https://sqs.eu-west-1.amazonaws.com/123456789012/b']);
    expect(() => schema.parseReplyQueueUrls('https://attacker.example/q')).toThrow(/REPLY_QUEUE_URLS/);
    expect(schema.replyRefusal({}, [])).toBeUndefined();
    expect(schema.replyRefusal({ replyTo: REPLIES }, [REPLIES])).toBeUndefined();
    expect(schema.replyRefusal({ replyTo: REPLIES }, [])).toMatch(/not one of this stack's reply queues/);
    expect(schema.queueUrlFromArn('arn:aws:sqs:eu-west-1:123456789012:crm-replies')).toBe(REPLIES);
    expect(schema.queueUrlFromArn('arn:aws-us-gov:sqs:us-gov-west-1:123456789012:r.fifo')).toBe(
      'https://sqs.us-gov-west-1.amazonaws.com/123456789012/r.fifo',
    );
    expect(schema.queueUrlFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:r')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/r',
    );
    expect(() => schema.queueUrlFromArn('arn:aws:sns:eu-west-1:123456789012:topic')).toThrow(/not an SQS/);
  });
});

describe('nesting depth of request.body', () => {
  it('accepts 64 levels and refuses 65 as invalid-job', () => {
    expect(refusal(post(nested(64)))).toBe('accepted');
    expect(refusal(post([nested(63)]))).toBe('accepted');
    expect(refusal(post(nested(65)))).toBe('invalid-job: request.body: nested deeper than 64 levels');
    expect(refusal(post([nested(64)]))).toMatch(/nested deeper than 64 levels/);
    // deep inside a wide body
    expect(refusal(post({ items: [1, 'x', null, { ok: true }, { deep: nested(64) }] }))).toMatch(
      /nested deeper/,
    );
  });

  it('refuses 20,000 levels with a ValidationError, not a stack overflow', () => {
    expect(refusal(post(nested(20_000)))).toMatch(/^invalid-job: request.body: nested deeper than 64 levels/);
    expect(() =>
      schema.parseJob(JSON.stringify(base).replace(/}$/, `,"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`)),
    ).toThrow(ValidationError);
  });
});

/** JobIntake over an SQS stand-in that accepts every entry. */
const intake = (replyQueueUrls: string[] = [REPLIES]) => {
  const queued: string[] = [];
  const sqs = {
    send: async (command: { input: { Entries: Array<{ Id: string; MessageBody: string }> } }) => {
      queued.push(...command.input.Entries.map((e) => e.MessageBody));
      return { Successful: command.input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })) };
    },
  } as unknown as SQSClient;
  const connections = {
    get: async (id: string) => (id === 'c1' ? ({ connectionId: 'c1' } as never) : undefined),
  };
  return { intake: new JobIntake(sqs, 'jobs-url', connections, { matchPath, replyQueueUrls }), queued };
};

describe('JobIntake checks what the worker checks', () => {
  it('rejects paths and methods Autotask does not have, with the matcher message, and queues the valid job', async () => {
    const { intake: subject, queued } = intake();
    const out = await subject.submit([
      { ...base, jobId: 'no-entity', request: { method: 'GET', path: '/NoSuchEntity/1' } },
      { ...base, jobId: 'double-slash', request: { method: 'GET', path: '//localhost/Tickets' } },
      { ...base, jobId: 'no-delete', request: { method: 'DELETE', path: '/Companies/1' } },
      { ...base, jobId: 'good' },
    ]);
    expect(out.accepted.map((a) => a.jobId)).toEqual(['good']);
    expect(out.rejected.map((r) => r.jobId)).toEqual(['no-entity', 'double-slash', 'no-delete']);
    const matcherError = (method: string, path: string) => {
      const match = matchPath(method, path);
      return 'error' in match ? match.error : 'matched';
    };
    expect(out.rejected.map((r) => r.error)).toEqual([
      matcherError('GET', '/NoSuchEntity/1'),
      matcherError('GET', '//localhost/Tickets'),
      matcherError('DELETE', '/Companies/1'),
    ]);
    expect(out.rejected.map((r) => r.error)).not.toContain('matched');
    expect(queued.map((b) => JSON.parse(b).jobId)).toEqual(['good']);
  });

  it('rejects a replyTo outside the reply queues and queues one inside', async () => {
    const { intake: subject, queued } = intake();
    const out = await subject.submit([
      { ...base, jobId: 'foreign', replyTo: 'https://sqs.eu-west-1.amazonaws.com/999999999999/other' },
      { ...base, jobId: 'attacker', replyTo: 'https://attacker.example/123456789012/q' },
      { ...base, jobId: 'ours', replyTo: REPLIES },
    ]);
    expect(out.accepted.map((a) => a.jobId)).toEqual(['ours']);
    expect(out.rejected).toEqual([
      { index: 0, jobId: 'foreign', error: expect.stringMatching(/not one of this stack's reply queues/) },
      { index: 1, jobId: 'attacker', error: expect.stringMatching(/replyTo must be an SQS queue URL/) },
    ]);
    expect(queued).toHaveLength(1);
    // no reply queues configured: no replyTo at all
    const none = await intake([]).intake.submit([{ ...base, replyTo: REPLIES }]);
    expect(none.accepted).toEqual([]);
  });

  it('rejects a body nested 20,000 levels deep instead of throwing', async () => {
    const { intake: subject, queued } = intake();
    const out = await subject.submit([post(nested(20_000)), { ...base, jobId: 'good' }]);
    expect(out.rejected).toEqual([
      { index: 0, jobId: 'j1', error: 'request.body: nested deeper than 64 levels' },
    ]);
    expect(out.accepted.map((a) => a.jobId)).toEqual(['good']);
    expect(queued).toHaveLength(1);
  });
});
