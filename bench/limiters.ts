import {
  ConditionalCheckFailedException,
  DynamoDB,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { RateLimiterDynamo, RateLimiterRes } from 'rate-limiter-flexible';

/** What the comparison limiters do before each Autotask call: wait until they say go. */
export interface Limiter {
  name: string;
  acquire(): Promise<void>;
}

/**
 * (b) A fixed clock-window counter, as BullMQ's limiter and most hand-rolled limiters do: one
 * counter per clock window in DynamoDB, atomically incremented under the ceiling; refused callers
 * wait for the next clock window.
 */
export const fixedWindowLimiter = (
  dynamo: DynamoDBClient,
  tableName: string,
  key: string,
  ceiling: number,
  windowMs: number,
): Limiter => ({
  name: 'fixed clock window',
  async acquire() {
    for (;;) {
      const window = Math.floor(Date.now() / windowMs);
      try {
        await dynamo.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: { S: `FIXED#${key}` }, sk: { S: String(window) } },
            UpdateExpression: 'ADD calls :one',
            ConditionExpression: 'attribute_not_exists(calls) OR calls < :ceiling',
            ExpressionAttributeValues: { ':one': { N: '1' }, ':ceiling': { N: String(ceiling) } },
          }),
        );
        return;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        await new Promise((resolve) =>
          setTimeout(resolve, (window + 1) * windowMs - Date.now() + Math.random() * 200),
        );
      }
    }
  },
});

/** (c) rate-limiter-flexible's RateLimiterDynamo on the same DynamoDB: consume, or wait msBeforeNext. */
export const rateLimiterDynamo = async (
  endpoint: string,
  region: string,
  key: string,
  ceiling: number,
  windowSeconds: number,
): Promise<Limiter> => {
  const client = new DynamoDB({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const limiter = await new Promise<RateLimiterDynamo>((resolve, reject) => {
    const created: RateLimiterDynamo = new RateLimiterDynamo(
      {
        storeClient: client,
        tableName: 'rate-limiter-flexible',
        points: ceiling,
        duration: windowSeconds,
        keyPrefix: key,
        // dynalite has no UpdateTimeToLive; the limiter would otherwise try to switch TTL on
        ttlSet: true,
      },
      (err?: unknown) => (err ? reject(err) : resolve(created)),
    );
  });
  return {
    name: 'RateLimiterDynamo',
    async acquire() {
      for (;;) {
        try {
          await limiter.consume(key);
          return;
        } catch (res) {
          if (!(res instanceof RateLimiterRes)) throw res;
          await new Promise((resolve) => setTimeout(resolve, res.msBeforeNext + Math.random() * 200));
        }
      }
    },
  };
};
