import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Built once per process. The endpoint is passed explicitly when AWS_ENDPOINT_URL_SQS is set:
 * fauxqs queue URLs use a host name (`sqs.<region>.localhost`) that does not resolve, and the SDK
 * would otherwise send to the queue URL's host.
 */
const endpoint = process.env.AWS_ENDPOINT_URL_SQS;
export const sqs = new SQSClient(endpoint ? { endpoint, useQueueUrlAsEndpoint: false } : {});
