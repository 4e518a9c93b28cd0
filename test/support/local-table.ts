import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Emulators, startEmulators } from '#local/emulators.ts';
import { createResources } from '#local/resources.ts';

export interface LocalTable {
  emulators: Emulators;
  /** A client of the emulated DynamoDB, as the functions build theirs. */
  dynamo: DynamoDBClient;
  tableName: string;
  stop(): Promise<void>;
}

/** The emulators and the governor's table (named after `prefix`), for tests of one store. */
export const startLocalTable = async (prefix: string): Promise<LocalTable> => {
  const emulators = await startEmulators();
  const { tableName } = await createResources(emulators, { prefix });
  const dynamo = new DynamoDBClient({
    region: emulators.region,
    endpoint: emulators.endpoints.dynamodb,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    emulators,
    dynamo,
    tableName,
    stop: async () => {
      dynamo.destroy();
      await emulators.stop();
    },
  };
};
