import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Built once per process. Requests go to the client's own endpoint, never to the host a queue URL
 * names: the SDK's default (`useQueueUrlAsEndpoint`) would send a signed request, session token
 * included, to whatever host a job's `replyTo` says. The endpoint is passed explicitly when
 * AWS_ENDPOINT_URL_SQS is set (locally: fauxqs, whose queue URLs name a host that does not resolve).
 */
const endpoint = process.env.AWS_ENDPOINT_URL_SQS;
export const sqs = new SQSClient({ ...(endpoint ? { endpoint } : {}), useQueueUrlAsEndpoint: false });
