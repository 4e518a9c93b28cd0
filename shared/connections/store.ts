import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { isAutotaskZone } from '#shared/autotask/zones.ts';
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

const INDEX_KEY = { pk: { S: 'CONNECTIONS' }, sk: { S: 'INDEX' } };

/** The connections as listed, with the index's version at the time. */
export interface ConnectionListing {
  version: number;
  connections: Connection[];
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
    // the zone found for this API user stays, unless it is no Autotask zone (then discovery runs again)
    if (
      existing?.zoneUrl &&
      !input.zoneUrl &&
      existing.apiUser === settings.apiUser &&
      isAutotaskZone(existing.zoneUrl)
    ) {
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
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: INDEX_KEY,
        // `version` tells the sync's warm containers that some connection's settings changed
        UpdateExpression: 'ADD ids :id, version :one',
        ExpressionAttributeValues: { ':id': { SS: [connectionId] }, ':one': { N: '1' } },
      }),
    );
    return connection;
  }

  /**
   * Every connection, through an index item holding their ids: the table also holds budget items
   * and execution records, so a Scan would read (and pay for) all of them.
   */
  async list(): Promise<Connection[]> {
    return (await this.listSince()).connections;
  }

  /**
   * Every connection, or `previous` itself (one read of the index item) when no connection's
   * settings changed since it was listed.
   */
  async listSince(previous?: ConnectionListing): Promise<ConnectionListing> {
    const index = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: INDEX_KEY, ConsistentRead: true }),
    );
    const version = Number(index.Item?.version?.N ?? 0);
    if (previous && previous.version === version) return previous;
    return { version, connections: await this.fetch(index.Item?.ids?.SS ?? []) };
  }

  private async fetch(listed: string[]): Promise<Connection[]> {
    const ids = [...listed].sort();
    const connections: Connection[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Array<Record<string, AttributeValue>> = ids.slice(i, i + 100).map(connectionKey);
      while (keys.length > 0) {
        const out = await this.dynamo.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) connections.push(fromItem(item));
        keys = (out.UnprocessedKeys?.[this.tableName]?.Keys as typeof keys | undefined) ?? [];
      }
    }
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
