import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type ConnectionState, initialState } from '#shared/connections/state.ts';

export interface VersionedState {
  state: ConnectionState;
  /** 0 when the connection never had a state item. */
  version: number;
}

export interface StateStore {
  get(connectionId: string): Promise<VersionedState>;
  /** Optimistic write: false when someone else wrote since `expectedVersion` was read. */
  put(connectionId: string, state: ConnectionState, expectedVersion: number): Promise<boolean>;
}

const stateKey = (connectionId: string) => ({ pk: { S: `CONN#${connectionId}` }, sk: { S: 'STATE' } });

/**
 * One item per connection, apart from the budget item on purpose: its transition log would make
 * every reservation write (which is charged by item size) dearer. The budget item carries only the
 * `asleep` flag the workers check.
 */
export class DynamoStateStore implements StateStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(connectionId: string): Promise<VersionedState> {
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: stateKey(connectionId), ConsistentRead: true }),
    );
    if (!out.Item?.doc?.S) return { state: initialState(), version: 0 };
    return {
      state: { ...initialState(), ...(JSON.parse(out.Item.doc.S) as Partial<ConnectionState>) },
      version: Number(out.Item.version?.N ?? 0),
    };
  }

  async put(connectionId: string, state: ConnectionState, expectedVersion: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...stateKey(connectionId),
            doc: { S: JSON.stringify(state) },
            version: { N: String(expectedVersion + 1) },
          },
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :expected',
          ...(expectedVersion === 0
            ? {}
            : { ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } } }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}
