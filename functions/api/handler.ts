import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { buildApiDeps } from '#functions/api/deps.ts';
import { buildRouter } from '#functions/api/router.ts';

const deps = buildApiDeps();

/** The operators' HTTPS API and console (API Gateway HTTP API, payload 2.0): routes in route-table.ts. */
export const handler = middy(buildRouter(deps)) as unknown as (
  event: APIGatewayProxyEventV2,
) => Promise<APIGatewayProxyStructuredResultV2>;
