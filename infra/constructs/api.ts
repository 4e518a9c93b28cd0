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
import { envNames } from '#shared/config/resources.ts';
import type { LogLevel } from '../config.ts';
import type { Alerts } from './alerts.ts';
import { entryPath, GovernorFunction, TABLE_ACTIONS } from './governor-function.ts';

/** The operators' routes. Each needs `Authorization: Bearer <token>`, checked by the function itself. */
export const OPERATOR_ROUTES: ReadonlyArray<readonly [HttpMethod, string]> = [
  [HttpMethod.GET, '/connections'],
  [HttpMethod.GET, '/connections/{id}'],
  [HttpMethod.PUT, '/connections/{id}'],
  [HttpMethod.POST, '/connections/{id}/wake'],
  [HttpMethod.POST, '/connections/{id}/sleep'],
  [HttpMethod.GET, '/connections/{id}/usage'],
  [HttpMethod.POST, '/jobs'],
];

/** The e-mailed wake link: the HMAC-signed token in the path is the credential (GET shows, POST confirms). */
export const WAKE_LINK_ROUTES: ReadonlyArray<readonly [HttpMethod, string]> = [
  [HttpMethod.GET, '/wake-links/{token}'],
  [HttpMethod.POST, '/wake-links/{token}'],
];

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
      description: 'autotask-governor operators API: status, wake/sleep, settings, usage, jobs, wake links',
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
    for (const [method, path] of [...OPERATOR_ROUTES, ...WAKE_LINK_ROUTES]) {
      const [route] = this.httpApi.addRoutes({ path, methods: [method], integration });
      Validations.of(route!).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: WAKE_LINK_ROUTES.some(([m, p]) => m === method && p === path)
          ? 'The e-mailed wake link carries its own credential: an HMAC-signed, expiring token in the path, ' +
            'verified by the function against the signing key in Secrets Manager.'
          : 'Bearer tokens are verified inside the function against their hashes in DynamoDB, so a token is ' +
            'created or revoked with one table write; a Lambda authorizer would add a second function and its ' +
            'cold starts without adding a check. Unmatched routes are answered 404 by API Gateway itself.',
      });
    }
  }
}
