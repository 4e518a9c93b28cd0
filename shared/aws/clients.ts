/**
 * Every SDK client, for code that needs several. Functions import the single-client modules
 * (shared/aws/dynamo.ts, sqs.ts, secrets.ts, ses.ts) so a bundle carries only the SDKs it uses.
 * In AWS the endpoints come from the region; locally the AWS_ENDPOINT_URL_* variables point at the
 * emulators, so these modules must be imported after those variables are set.
 */
export { dynamo } from '#shared/aws/dynamo.ts';
export { secretsManager } from '#shared/aws/secrets.ts';
export { ses } from '#shared/aws/ses.ts';
export { sqs } from '#shared/aws/sqs.ts';
