import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { JobResult } from '#shared/jobs/result.ts';

/**
 * At-least-once delivery, executed once: before a write (POST/PATCH/PUT/DELETE) goes to Autotask the
 * worker claims the job id with a conditional put; once Autotask answered it stores the result. A
 * redelivered message then republishes the stored result instead of writing twice. A claim without
 * a result means a worker died between sending and recording: whether Autotask applied the write is
 * unknown, so it is never sent again (the job is dead-lettered with reason `outcome-unknown`).
 */
export type Claim =
  | { state: 'claimed' }
  | { state: 'done'; result: JobResult }
  | { state: 'in-flight'; since: number };

export interface ExecutionStore {
  claim(connectionId: string, jobId: string): Promise<Claim>;
  /** Autotask answered: remember the result (republished on redelivery). */
  complete(connectionId: string, jobId: string, result: JobResult): Promise<void>;
  /**
   * The write may be sent again (refused by a 429/thread limit, or a PATCH/PUT/DELETE, or a POST
   * with `retryUnsafeWrites`, after a 5xx, timeout or reset): a later attempt may claim again.
   */
  abandon(connectionId: string, jobId: string): Promise<void>;
}

/** Execution records outlive any redelivery (SQS keeps messages at most 14 days). */
const KEEP_SECONDS = 15 * 24 * 3600;
const key = (connectionId: string, jobId: string) => ({
  pk: { S: `JOB#${connectionId}#${jobId}` },
  sk: { S: 'EXECUTION' },
});

export class DynamoExecutionStore implements ExecutionStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(connectionId: string, jobId: string): Promise<Claim> {
    const now = this.now();
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...key(connectionId, jobId),
            status: { S: 'in-flight' },
            startedAt: { N: String(now) },
            ttl: { N: String(Math.ceil(now / 1000) + KEEP_SECONDS) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #status = :abandoned',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':abandoned': { S: 'abandoned' } },
        }),
      );
      return { state: 'claimed' };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: key(connectionId, jobId), ConsistentRead: true }),
    );
    const item = out.Item;
    if (item?.status?.S === 'done' && item.result?.S)
      return { state: 'done', result: JSON.parse(item.result.S) as JobResult };
    const since = Number(item?.startedAt?.N ?? now);
    return { state: 'in-flight', since };
  }

  async complete(connectionId: string, jobId: string, result: JobResult): Promise<void> {
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key(connectionId, jobId),
        UpdateExpression: 'SET #status = :done, #result = :result',
        ExpressionAttributeNames: { '#status': 'status', '#result': 'result' },
        ExpressionAttributeValues: {
          ':done': { S: 'done' },
          ':result': { S: JSON.stringify(result).slice(0, 350_000) },
        },
      }),
    );
  }

  async abandon(connectionId: string, jobId: string): Promise<void> {
    await this.dynamo
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(connectionId, jobId),
          UpdateExpression: 'SET #status = :abandoned',
          ConditionExpression: '#status = :inflight',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':abandoned': { S: 'abandoned' }, ':inflight': { S: 'in-flight' } },
        }),
      )
      .catch((err) => {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      });
  }
}
