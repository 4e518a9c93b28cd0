import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * The operators' HTTPS API (status, wake-up, settings, usage report, POST /jobs) is not built yet
 * (issue #4). Until it is, every route answers 501 with a JSON error instead of failing with a 500.
 */
export const handler = async (): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 501,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    error: {
      code: 'not-implemented',
      message: 'The operators API is not available in this version of autotask-governor.',
    },
  }),
});
