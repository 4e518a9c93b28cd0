import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type Connection,
  type ConnectionSettingsInput,
  connectionSettingsSchema,
} from '#shared/connections/model.ts';

export interface ConnectionStore {
  get(connectionId: string): Promise<Connection | undefined>;
  put(connectionId: string, settings: ConnectionSettingsInput): Promise<Connection>;
  list(): Promise<Connection[]>;
  cacheZone(connectionId: string, zoneUrl: string): Promise<void>;
}

export const connectionKey = (connectionId: string) => ({
  pk: { S: `CONN#${connectionId}` },
  sk: { S: 'CONFIG' },
});

/** Settings are stored as one JSON document attribute: they are read whole and validated on the way in. */
export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(connectionId: string): Promise<Connection | undefined> {
    const out = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: connectionKey(connectionId) }),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async put(connectionId: string, input: ConnectionSettingsInput): Promise<Connection> {
    const settings = connectionSettingsSchema.parse(input);
    const existing = await this.get(connectionId);
    const now = new Date().toISOString();
    const connection: Connection = {
      ...settings,
      connectionId,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    if (existing?.zoneUrl && !input.zoneUrl && existing.apiUser === settings.apiUser) {
      connection.zoneUrl = existing.zoneUrl;
      if (existing.zoneCheckedAt) connection.zoneCheckedAt = existing.zoneCheckedAt;
    }
    await this.dynamo.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...connectionKey(connectionId),
          type: { S: 'connection' },
          doc: { S: JSON.stringify(connection) },
        },
      }),
    );
    return connection;
  }

  async list(): Promise<Connection[]> {
    const connections: Connection[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.dynamo.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :config',
          ExpressionAttributeValues: { ':config': { S: 'CONFIG' } },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) connections.push(fromItem(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return connections.sort((a, b) => a.connectionId.localeCompare(b.connectionId));
  }

  async cacheZone(connectionId: string, zoneUrl: string): Promise<void> {
    const existing = await this.get(connectionId);
    if (!existing) return;
    const updated: Connection = { ...existing, zoneUrl, zoneCheckedAt: new Date().toISOString() };
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: connectionKey(connectionId),
        UpdateExpression: 'SET doc = :doc',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':doc': { S: JSON.stringify(updated) } },
      }),
    );
  }
}

const fromItem = (item: Record<string, AttributeValue>): Connection =>
  JSON.parse(item.doc?.S ?? '{}') as Connection;
