import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ROUTE_TABLE, type RouteAuth } from '#functions/api/route-table.ts';
import { envNames } from '#shared/config/resources.ts';
import type { LogLevel } from '../config.ts';
import type { Alerts } from './alerts.ts';
import { entryPath, GovernorFunction, TABLE_ACTIONS } from './governor-function.ts';

const routesOf = (auth: RouteAuth[]): ReadonlyArray<readonly [HttpMethod, string]> =>
  ROUTE_TABLE.filter((r) => auth.includes(r.auth)).map((r) => [HttpMethod[r.method], r.path] as const);

/** The JSON API's routes. Each needs `Authorization: Bearer <token>`, checked by the function itself. */
export const OPERATOR_ROUTES = routesOf(['bearer']);

/** The e-mailed wake link: the HMAC-signed token in the path is the credential (GET shows, POST confirms). */
export const WAKE_LINK_ROUTES = routesOf(['wake-link']);

/** The console: its pages need a session cookie; the sign-in form and the static files need nothing. */
export const CONSOLE_ROUTES = routesOf(['session', 'none']);

/**
 * HTTP API access log, one JSON object per request. The path is deliberately left out: wake-link
 * tokens travel in it, and a log must not hold credentials; the route key says which route ran.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  errorMessage: '$context.error.message',
  integrationError: '$context.integrationErrorMessage',
} as const;

/** Why no route has an API Gateway authorizer: the function checks each kind of credential itself. */
const AUTHORIZATION_NOTES: Record<RouteAuth, string> = {
  'wake-link':
    'The e-mailed wake link carries its own credential: an HMAC-signed, expiring token in the path, ' +
    'verified by the function against the signing key in Secrets Manager.',
  bearer:
    'Bearer tokens are verified inside the function against their hashes in DynamoDB, so a token is ' +
    'created or revoked with one table write; a Lambda authorizer would add a second function and its ' +
    'cold starts without adding a check. Unmatched routes are answered 404 by API Gateway itself.',
  session:
    'Console pages are authorized by a session cookie that the function checks against the hash of the ' +
    'session id in DynamoDB (and the token it came from); state-changing requests also pass a same-origin check.',
  none:
    'The console sign-in form (where a token is exchanged for a session) and its static script and style ' +
    'sheet must be reachable before signing in; they reveal nothing.',
};

export interface ApiProps {
  readonly table: ITable;
  readonly jobsQueue: IQueue;
  /** POST /jobs puts critical jobs in their own lane. */
  readonly criticalQueue: IQueue;
  readonly delayQueue: IQueue;
  /** Jobs parked while a connection slept: a wake hands them back. */
  readonly parkedQueue: IQueue;
  readonly alerts: Alerts;
  readonly wakeLinkSecret: ISecret;
  readonly connectionSecretPrefix: string;
  /** The queues jobs may name as `replyTo`: `POST /jobs` refuses any other. */
  readonly replyQueueArns: readonly string[];
  readonly throttleRate: number;
  readonly throttleBurst: number;
  readonly corsOrigins: readonly string[];
  readonly logRetentionDays: number;
  readonly logLevel: LogLevel;
}

/** The operators' HTTP API (API Gateway HTTP API -> one Lambda function). */
export class Api extends Construct {
  public readonly fn: GovernorFunction;
  public readonly httpApi: HttpApi;
  public readonly stage: HttpStage;
  public readonly accessLogGroup: LogGroup;
  /**
   * Base URL without a trailing slash, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`
   * (the `$default` stage has no path of its own). Depends on the API's id only, not on its routes.
   */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.fn = new GovernorFunction(this, 'Function', {
      entry: entryPath('api'),
      description:
        'autotask-governor operators API and console: status, wake/sleep, settings, usage, jobs, wake links',
      timeout: Duration.seconds(10),
      memorySize: 256,
      logRetentionDays: props.logRetentionDays,
      logLevel: props.logLevel,
    })
      .bindTable(props.table, TABLE_ACTIONS.api)
      .bindQueue(envNames.jobsQueueUrl, props.jobsQueue)
      .bindQueue(envNames.criticalQueueUrl, props.criticalQueue)
      .bindQueue(envNames.delayQueueUrl, props.delayQueue)
      // GET /connections/{id} reports the jobs waiting (approximate counts of the two queues)
      .allowQueueAttributes(props.jobsQueue, props.delayQueue)
      .listReplyQueues(props.replyQueueArns)
      .bindSecret(envNames.wakeLinkSecretArn, props.wakeLinkSecret)
      // Checks that a connection's secretRef exists when it is saved; it never reads the secret.
      .allowSecretsUnder(props.connectionSecretPrefix, ['secretsmanager:DescribeSecret'])
      .bindSender(props.alerts)
      .releasesParked(props.parkedQueue, props.delayQueue);

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'autotask-governor operators API',
      createDefaultStage: false,
      ...(props.corsOrigins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.PUT, CorsHttpMethod.POST],
              allowHeaders: ['authorization', 'content-type'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRate, burstLimit: props.throttleBurst },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.url = this.httpApi.apiEndpoint;

    const integration = new HttpLambdaIntegration('Lambda', this.fn);
    // one API Gateway route per entry of the function's own route table (functions/api/route-table.ts)
    for (const spec of ROUTE_TABLE) {
      const [route] = this.httpApi.addRoutes({
        path: spec.path,
        methods: [HttpMethod[spec.method]],
        integration,
      });
      Validations.of(route!).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: AUTHORIZATION_NOTES[spec.auth],
      });
    }
  }
}
