/**
 * The bench's DynamoDB split: the functions' requests by operation, item kind (budget, settings,
 * sync state, ...), purpose of a conditional budget write (reserve — the sync's own read included —,
 * renew or release a thread lease) and conditional failure, to see where the requests per call go.
 * Installed on the functions' client in each process that runs them (the bench and its worker child).
 */
import { type AttributeValue, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type FailedInput, failedCondition } from './conditions.ts';

export interface DynamoCount {
  /** `<command>:<item kind>[:reserve|:renew|:release|:cond][:failed[:<clause>]]` -> requests. */
  byItem(): Record<string, number>;
  /** Reads made only to explain a failed condition (to take out of the emulator's count). */
  explainReads(): number;
  reset(): void;
}

/**
 * `explain`: after each failed condition, read the item to name the clause that failed (dynalite
 * does not return the item with the failure); those reads go through `reader`, not `client`.
 */
export const countDynamoRequests = (
  client: DynamoDBClient,
  explain?: { reader: DynamoDBClient },
): DynamoCount => {
  let counts: Record<string, number> = {};
  let reads = 0;
  const bump = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as FailedInput & {
        TableName?: string;
        Key?: Record<string, AttributeValue> & { sk?: { S?: string } };
      };
      const cond = input.ConditionExpression;
      const kind = !cond
        ? ''
        : cond.includes('cum <=')
          ? ':reserve'
          : cond.includes(':held')
            ? ':renew'
            : cond.startsWith('attribute_exists(#t)')
              ? ':release'
              : ':cond';
      const key = `${context.commandName}:${input.Key?.sk?.S?.split('#')[0] ?? '-'}${kind}`;
      bump(key);
      try {
        return await next(args);
      } catch (err) {
        bump(`${key}:failed`);
        let item = (err as { Item?: Record<string, AttributeValue> }).Item;
        if (!item && explain && input.Key && cond) {
          reads++;
          item = (
            await explain.reader.send(
              new GetItemCommand({ TableName: input.TableName, Key: input.Key, ConsistentRead: true }),
            )
          ).Item;
        }
        const why = item && failedCondition(input, item);
        if (why) bump(`${key}:failed:${why}`);
        throw err;
      }
    },
    { step: 'initialize', name: 'benchCount' },
  );
  return {
    byItem: () => ({ ...counts }),
    explainReads: () => reads,
    reset: () => {
      counts = {};
      reads = 0;
    },
  };
};

/** Adds one split to another (the bench's and its worker child's). */
export const addCounts = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
  const sum = { ...a };
  for (const [k, v] of Object.entries(b)) sum[k] = (sum[k] ?? 0) + v;
  return sum;
};
