import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { buildApiDeps } from '#functions/api/deps.ts';
import { route } from '#functions/api/routes.ts';

const deps = buildApiDeps();

/** The operators' HTTPS API (API Gateway HTTP API, payload 2.0): routes and auth in routes.ts. */
export const handler = middy((event: APIGatewayProxyEventV2) => route(event, deps)) as unknown as (
  event: APIGatewayProxyEventV2,
) => Promise<APIGatewayProxyStructuredResultV2>;
