import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Built once per process (module scope) so Lambda reuses its connections. */
export const dynamo = new DynamoDBClient({ maxAttempts: 3 });
