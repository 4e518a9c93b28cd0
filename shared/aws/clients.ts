import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * SDK clients, built once per process (module scope) so Lambda reuses their connections.
 * In AWS the endpoints come from the region; locally the AWS_ENDPOINT_URL_* variables point at the
 * emulators. SQS gets its endpoint passed explicitly because fauxqs queue URLs use a host name
 * (`sqs.<region>.localhost`) that does not resolve, and the SDK would otherwise send to it.
 */
const sqsEndpoint = process.env.AWS_ENDPOINT_URL_SQS;

export const dynamo = new DynamoDBClient({ maxAttempts: 3 });
export const sqs = new SQSClient(sqsEndpoint ? { endpoint: sqsEndpoint, useQueueUrlAsEndpoint: false } : {});
export const ses = new SESv2Client({});
export const secretsManager = new SecretsManagerClient({});
