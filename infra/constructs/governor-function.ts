import path from 'node:path';
import { type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { envNames } from '#shared/config/resources.ts';
import { queueUrlFromArn } from '#shared/jobs/schema.ts';
import { BUNDLE_ALIASES } from '../bundling/aliases.ts';
import type { LogLevel } from '../config.ts';

/** The project root (the folder holding package-lock.json), whatever the current directory. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Absolute path of a function's entry: `functions/<name>/handler.ts`. */
export const entryPath = (name: 'worker' | 'sync' | 'api'): string =>
  path.join(PROJECT_ROOT, 'functions', name, 'handler.ts');

/**
 * ESM output still meets CommonJS dependencies that call `require` (middy, parts of the SDK);
 * the alias avoids clashing with a bundled module's own `createRequire` import.
 */
export const ESM_REQUIRE_BANNER =
  "import{createRequire as __governorCreateRequire}from'node:module';const require=__governorCreateRequire(import.meta.url);";

/**
 * The DynamoDB actions each function's code issues (shared/), and no more: nothing deletes an item,
 * writes in batches or scans (items expire by TTL; lists go through index items).
 * - worker: budget reservations, leases, connection state, execution records;
 * - sync and API: also the connections' index (BatchGetItem) and the usage hours (Query).
 */
export const TABLE_ACTIONS = {
  worker: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  sync: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
  ],
  api: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
  ],
} as const;

export interface GovernorFunctionProps {
  /** Absolute path of the entry file (see entryPath). */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly logRetentionDays: number;
  readonly logLevel: LogLevel;
  readonly environment?: Record<string, string>;
}

/**
 * A Lambda function with the project's defaults: Node 24 on arm64, bundled by the local esbuild
 * (never Docker) into one minified ESM file with source maps, X-Ray tracing, its own log group with
 * a retention, and its own role granted only what the bind* helpers add.
 *
 * The AWS SDK is bundled, not taken from the runtime: the functions then run the exact SDK versions
 * pinned in package-lock.json, which the unit and integration tests ran, and a runtime SDK update
 * cannot change behaviour under us. It costs ~240 KB of the worker's bundle (without the default
 * credential chain, see infra/bundling/aliases.ts) but saves init time: one pre-linked file loaded
 * in ~90 ms where the same code importing the SDK from node_modules took ~130 ms (measured with
 * Node 24 before the aliases; README.md, "Deploy" / "Bundles").
 *
 * The role and log group are created as siblings (`<id>Role`, `<id>LogGroup`) because a subclass
 * cannot create children before calling super(). The role is ours rather than the default one so
 * that logging is granted on this log group only, not through the AWSLambdaBasicExecutionRole
 * managed policy (CreateLogGroup, CreateLogStream and PutLogEvents on `*`).
 */
export class GovernorFunction extends NodejsFunction {
  /** The function's log group (also reachable as `logGroup`, typed as ILogGroup there). */
  public readonly functionLogGroup: LogGroup;
  public readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: GovernorFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.description}`,
    });
    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        [envNames.logLevel]: props.logLevel,
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        // Non-ASCII text stays as UTF-8 bytes instead of \u escapes: smaller bundles (Node reads UTF-8).
        // Passed as a raw flag: aws-cdk-lib 2.276 accepts the `charset` option but never hands it to esbuild.
        // Aliases that cut module initialisation (infra/bundling/aliases.ts).
        esbuildArgs: {
          '--charset': 'utf8',
          '--alias': Object.entries(BUNDLE_ALIASES).map(([from, to]) => `${from}=${to}`),
        },
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        // The map only needs positions: leaving the sources out keeps the zip small.
        sourcesContent: false,
        bundleAwsSDK: true,
        externalModules: [],
      },
    });
    this.functionLogGroup = logGroup;
    this.executionRole = role;
    // Explicit grant instead of the managed policy: create streams and put events in this group only.
    logGroup.grantWrite(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only xray:PutTraceSegments and xray:PutTelemetryRecords (added by Tracing.ACTIVE) use Resource "*": ' +
        'X-Ray supports no resource-level permissions for them.',
    });
  }

  /** TABLE_NAME + exactly the item actions this function's code uses (TABLE_ACTIONS). */
  bindTable(table: ITable, actions: readonly string[]): this {
    this.addEnvironment(envNames.tableName, table.tableName);
    table.grant(this, ...actions);
    return this;
  }

  /** Sets the queue's URL under `envName` and allows sqs:SendMessage (and SendMessageBatch) to it. */
  bindQueue(envName: string, queue: IQueue): this {
    this.addEnvironment(envName, queue.queueUrl);
    queue.grantSendMessages(this);
    return this;
  }

  /**
   * PARKED_QUEUE_URL and DELAY_QUEUE_URL for a function that wakes connections: it receives parked
   * jobs, puts back other connections' ones, sends them to the delay queue and deletes them.
   */
  releasesParked(parked: IQueue, delay: IQueue): this {
    this.addEnvironment(envNames.parkedQueueUrl, parked.queueUrl);
    this.addEnvironment(envNames.delayQueueUrl, delay.queueUrl);
    delay.grantSendMessages(this);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
        ],
        resources: [parked.queueArn],
      }),
    );
    return this;
  }

  /** sqs:GetQueueAttributes only (approximate message counts). */
  allowQueueAttributes(...queues: IQueue[]): this {
    this.addToRolePolicy(
      new PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: queues.map((q) => q.queueArn) }),
    );
    return this;
  }

  /**
   * Queues named by jobs' `replyTo` (configured ARNs): REPLY_QUEUE_URLS (see `listReplyQueues`) and
   * sqs:SendMessage to them only.
   */
  allowReplyQueues(queueArns: readonly string[]): this {
    this.listReplyQueues(queueArns);
    if (queueArns.length > 0) {
      this.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [...queueArns] }));
    }
    return this;
  }

  /**
   * REPLY_QUEUE_URLS: the configured reply queues' URLs, derived from their ARNs (empty: none), the
   * only `replyTo` a job may name. No permission: the API checks jobs against it, the worker sends.
   */
  listReplyQueues(queueArns: readonly string[]): this {
    this.addEnvironment(envNames.replyQueueUrls, queueArns.map(queueUrlFromArn).join(','));
    return this;
  }

  /** Sets the secret's ARN under `envName` and allows reading that one secret. */
  bindSecret(envName: string, secret: ISecret): this {
    this.addEnvironment(envName, secret.secretArn);
    secret.grantRead(this);
    return this;
  }

  /**
   * Secrets created by operators under a name prefix (the connections' Autotask credentials), and
   * CONNECTION_SECRET_PREFIX, by which the code refuses any other secret for a connection.
   * `actions` is GetSecretValue for the functions that call Autotask, DescribeSecret for the API.
   */
  allowSecretsUnder(prefix: string, actions: readonly string[]): this {
    this.addEnvironment(envNames.connectionSecretPrefix, prefix);
    const stack = Stack.of(this);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: [...actions],
        resources: [
          `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${prefix}*`,
        ],
      }),
    );
    Validations.of(this.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason:
        'Connection secrets are created by operators at run time, one per connection, under this prefix; the ' +
        'wildcard is limited to it (and covers the random suffix Secrets Manager appends to secret ARNs).',
    });
    return this;
  }

  /** SENDER_EMAIL + ses:SendEmail/SendRawEmail on the given identities only. */
  bindSender(sender: { readonly senderEmail: string; readonly identityArns: readonly string[] }): this {
    this.addEnvironment(envNames.senderEmail, sender.senderEmail);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [...sender.identityArns],
      }),
    );
    return this;
  }
}
