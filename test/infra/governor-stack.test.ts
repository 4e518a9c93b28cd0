import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  criticalEventSource,
  queues,
  WORKER_TIMEOUT_SECONDS,
  workerEventSource,
} from '#shared/config/resources.ts';
import {
  ACCESS_LOG_FIELDS,
  CONSOLE_ROUTES,
  OPERATOR_ROUTES,
  WAKE_LINK_ROUTES,
} from '../../infra/constructs/api.ts';
import { PROJECT_ROOT } from '../../infra/constructs/governor-function.ts';
import { addGovernor } from '../../infra/governor-stack.ts';

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation is untyped JSON, asserted field by field.
type Json = any;
type Resource = { Type: string; Properties: Json; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const BUILD_DIR = path.join(PROJECT_ROOT, '.build', 'cdk-test');
const outdirs: string[] = [];

/** Synthesizes the governor without bundling (the template is all these tests need). */
const synth = (context: Record<string, unknown> = {}) => {
  mkdirSync(BUILD_DIR, { recursive: true });
  const outdir = mkdtempSync(path.join(BUILD_DIR, 'stack-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    context: { 'aws:cdk:bundling-stacks': [], senderEmail: 'alerts@msp.example', ...context },
  });
  const stack = addGovernor(app);
  return { stack, template: Template.fromStack(stack) };
};

const resourcesOf = (template: Template, type: string): Array<[string, Resource]> =>
  Object.entries(template.findResources(type)) as Array<[string, Resource]>;

/** Logical IDs are the construct path without separators plus a hash: find one by its path prefix. */
const logicalIdOf = (template: Template, type: string, prefix: string): string => {
  const found = resourcesOf(template, type).filter(([id]) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  const [first] = found;
  if (!first || found.length !== 1)
    throw new Error(`expected one ${type} with id ${prefix}*, found ${found.length}`);
  return first[0];
};

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('GovernorStack (default configuration)', () => {
  let template: Template;
  const ids: Record<string, string> = {};
  beforeAll(() => {
    ({ template } = synth());
    ids.table = logicalIdOf(template, 'AWS::DynamoDB::Table', 'TablesTable');
    ids.jobs = logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesJobs');
    ids.delay = logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesDelay');
    ids.critical = logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesCritical');
    ids.results = logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesResults');
    ids.dlq = logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesDeadLetter');
    ids.parked = logicalIdOf(template, 'AWS::SQS::Queue', 'QueuesParked');
    ids.worker = logicalIdOf(template, 'AWS::Lambda::Function', 'WorkerFunction');
    ids.sync = logicalIdOf(template, 'AWS::Lambda::Function', 'SyncFunction');
    ids.api = logicalIdOf(template, 'AWS::Lambda::Function', 'ApiFunction');
    ids.topic = logicalIdOf(template, 'AWS::SNS::Topic', 'MonitoringAlarmTopic');
  });

  it('keeps the table encrypted, recoverable, expiring and retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        // SSE with KMS and no key id = the AWS managed key aws/dynamodb (see infra/constructs/tables.ts).
        SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });

  it('encrypts every queue and refuses non-TLS access to each', () => {
    const all = resourcesOf(template, 'AWS::SQS::Queue');
    expect(all).toHaveLength(6);
    for (const [, queue] of all) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const policies = resourcesOf(template, 'AWS::SQS::QueuePolicy');
    for (const [id] of all) {
      const policy = policies.find(([, p]) => JSON.stringify(p.Properties.Queues).includes(`"${id}"`));
      expect(policy, `SSL policy for ${id}`).toBeDefined();
      expect(policy![1].Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('redrives the jobs, critical and delay queues to the dead-letter queue, kept 14 days', () => {
    for (const [name, shape] of [
      ['jobs', queues.jobs],
      ['critical', queues.critical],
      ['delay', queues.delay],
    ] as const) {
      const props = template.toJSON().Resources[ids[name]!].Properties;
      expect(props.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] },
        maxReceiveCount: shape.maxReceiveCount,
      });
      expect(props.VisibilityTimeout).toBeGreaterThanOrEqual(6 * WORKER_TIMEOUT_SECONDS);
      expect(props.QueueName).toBe(`autotask-governor-prod-${shape.suffix}`);
    }
    expect(template.toJSON().Resources[ids.dlq!].Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(template.toJSON().Resources[ids.worker!].Properties.Timeout).toBe(WORKER_TIMEOUT_SECONDS);
  });

  it('feeds the worker from the jobs, delay and critical queues with partial batch responses', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    // critical jobs' own lane: small batches taken at once, with a concurrency of its own
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [ids.critical, 'Arn'] },
      FunctionName: { Ref: ids.worker },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: criticalEventSource.batchSize,
      MaximumBatchingWindowInSeconds: Match.absent(),
      ScalingConfig: { MaximumConcurrency: criticalEventSource.maxConcurrency },
    });
    for (const queue of [ids.jobs, ids.delay]) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
        FunctionName: { Ref: ids.worker },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: workerEventSource.batchSize,
        MaximumBatchingWindowInSeconds: workerEventSource.maxBatchingWindowSeconds,
        ScalingConfig: { MaximumConcurrency: workerEventSource.maxConcurrency },
      });
    }
  });

  it('builds every function with the shared defaults and its own log group', () => {
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(3);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
        Environment: {
          Variables: expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps', LOG_LEVEL: 'info' }),
        },
      });
    }
    for (const [, group] of resourcesOf(template, 'AWS::Logs::LogGroup')) {
      expect(group.Properties.RetentionInDays).toBe(30);
    }
  });

  it('gives each function exactly the environment it reads, no secret values', () => {
    const env = (id: string) =>
      Object.keys(template.toJSON().Resources[id].Properties.Environment.Variables).sort();
    // every function refuses a connection secret outside CONNECTION_SECRET_PREFIX
    const shared = ['CONNECTION_SECRET_PREFIX', 'LOG_LEVEL', 'NODE_OPTIONS', 'TABLE_NAME'];
    const alerting = [...shared, 'PUBLIC_API_URL', 'SENDER_EMAIL', 'WAKE_LINK_SECRET_ARN'];
    expect(env(ids.worker!)).toEqual(
      [
        ...shared,
        'BATCHING_WINDOW_SECONDS',
        'DEAD_LETTER_QUEUE_URL',
        'DELAY_QUEUE_URL',
        'JOBS_QUEUE_URL',
        'PARKED_QUEUE_URL',
        'REPLY_QUEUE_URLS',
        'RESULTS_QUEUE_URL',
        'ZONE_DISCOVERY_URL',
      ].sort(),
    );
    // the sync and the API hand parked jobs back to the delay queue when a connection wakes
    expect(env(ids.sync!)).toEqual(
      [...alerting, 'DELAY_QUEUE_URL', 'PARKED_QUEUE_URL', 'ZONE_DISCOVERY_URL'].sort(),
    );
    // the API and the worker refuse any replyTo outside REPLY_QUEUE_URLS (none configured: empty)
    expect(env(ids.api!)).toEqual(
      [
        ...alerting,
        'CRITICAL_QUEUE_URL',
        'DELAY_QUEUE_URL',
        'JOBS_QUEUE_URL',
        'PARKED_QUEUE_URL',
        'REPLY_QUEUE_URLS',
      ].sort(),
    );
    const apiVars = template.toJSON().Resources[ids.api!].Properties.Environment.Variables;
    expect(apiVars.REPLY_QUEUE_URLS).toBe('');
    expect(template.toJSON().Resources[ids.worker!].Properties.Environment.Variables.REPLY_QUEUE_URLS).toBe(
      '',
    );
    expect(apiVars.CONNECTION_SECRET_PREFIX).toBe('autotask-governor/prod/connections/');
    expect(apiVars.WAKE_LINK_SECRET_ARN).toEqual({
      Ref: expect.stringMatching(/^SecretsWakeLinkSigningKey/),
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'autotask-governor/prod/wake-link-signing-key',
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
      SecretString: Match.absent(),
    });
  });

  it('runs the sync every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [ids.sync, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
  });

  it('routes the HTTP API to the function, logs access as JSON without paths, and throttles', () => {
    const routeKeys = resourcesOf(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(routeKeys.sort()).toEqual(
      [...OPERATOR_ROUTES, ...WAKE_LINK_ROUTES, ...CONSOLE_ROUTES].map(([m, p]) => `${m} ${p}`).sort(),
    );
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
    const [[, stage]] = resourcesOf(template, 'AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^ApiAccessLogs/), 'Arn'] },
      },
    });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toEqual(ACCESS_LOG_FIELDS);
    expect(format.requestId).toBe('$context.requestId');
    expect(stage.Properties.AccessLogSettings.Format).not.toContain('$context.path');
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [ids.api, 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
    });
  });

  it('alarms into an encrypted, SSL-only topic', () => {
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(7);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: ids.topic }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: ids.topic }]);
    }
    const byMetric = (name: string, namespace: string) =>
      alarms.filter(([, a]) => a.Properties.MetricName === name && a.Properties.Namespace === namespace);
    for (const emf of ['Throttled429', 'ConnectionsAsleep']) {
      const [found] = byMetric(emf, 'AutotaskGovernor');
      expect(found, emf).toBeDefined();
      expect(found![1].Properties.Dimensions).toBeUndefined();
      expect(found![1].Properties.Threshold).toBe(1);
    }
    expect(byMetric('ApproximateNumberOfMessagesVisible', 'AWS/SQS')[0]![1].Properties.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.dlq, 'QueueName'] } },
    ]);
    expect(byMetric('ApproximateAgeOfOldestMessage', 'AWS/SQS')[0]![1].Properties.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.jobs, 'QueueName'] } },
    ]);
    expect(
      byMetric('Errors', 'AWS/Lambda')
        .map(([, a]) => a.Properties.Dimensions[0].Value.Ref)
        .sort(),
    ).toEqual([ids.worker, ids.sync, ids.api].sort());

    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
          }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('draws the dashboard from the EMF metrics and the delay queue', () => {
    const [[, dashboard]] = resourcesOf(template, 'AWS::CloudWatch::Dashboard') as [[string, Resource]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of [
      'CallsMade',
      'OtherCalls',
      'BudgetLeft',
      'JobsThrottled',
      'ApproximateNumberOfMessagesDelayed',
    ]) {
      expect(body).toContain(metric);
    }
    expect(dashboard.Properties.DashboardName).toBe('autotask-governor-prod');
  });

  it('outputs what operators and integrations need', () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    for (const name of [
      'ApiUrl',
      'JobsQueueUrl',
      'CriticalJobsQueueUrl',
      'CriticalJobsQueueArn',
      'DelayQueueUrl',
      'ResultsQueueUrl',
      'DeadLetterQueueUrl',
      'TableName',
      'DashboardName',
      'DashboardUrl',
      'AlarmTopicArn',
    ]) {
      expect(outputs).toContain(name);
    }
  });

  it('creates the SES sender identity and scopes sending to it', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'alerts@msp.example' });
  });

  it("pins each function role's actions: exactly what its code calls (no DeleteItem, BatchWriteItem or Scan)", () => {
    const byRole: Record<string, Set<string>> = {};
    for (const [, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
      for (const role of policy.Properties.Roles as Array<{ Ref: string }>) {
        const name = /^(Worker|Sync|Api)FunctionRole/.exec(role.Ref)?.[1] ?? role.Ref;
        byRole[name] ??= new Set();
        for (const statement of policy.Properties.PolicyDocument.Statement)
          for (const action of [statement.Action].flat()) byRole[name]?.add(action);
      }
    }
    const common = [
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ];
    const items = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
    const indexAndHours = ['dynamodb:BatchGetItem', 'dynamodb:Query'];
    const sesSend = ['ses:SendEmail', 'ses:SendRawEmail'];
    // the wake-link key: grantRead adds DescribeSecret to GetSecretValue
    const readSecret = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];
    const sorted = (...lists: string[][]) => [...new Set(lists.flat())].sort();
    const releaseParked = [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ];
    expect(Object.fromEntries(Object.entries(byRole).map(([k, v]) => [k, [...v].sort()]))).toEqual({
      Worker: sorted(
        common,
        items,
        ['secretsmanager:GetSecretValue'],
        [
          // its two event sources, and sends to the delay, results and dead-letter queues
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
          'sqs:SendMessage',
        ],
      ),
      // both hand parked jobs back to the delay queue when a connection wakes
      Sync: sorted(common, items, indexAndHours, sesSend, readSecret, releaseParked),
      Api: sorted(common, items, indexAndHours, sesSend, readSecret, releaseParked),
    });
    // receiving and deleting: on the parked queue only
    for (const [, policy] of resourcesOf(template, 'AWS::IAM::Policy'))
      for (const statement of policy.Properties.PolicyDocument.Statement)
        if (
          [statement.Action].flat().includes('sqs:ChangeMessageVisibility') &&
          !/Worker/.test(JSON.stringify(policy.Properties.Roles))
        )
          expect(statement.Resource).toEqual({ 'Fn::GetAtt': [ids.parked, 'Arn'] });
  });

  it('grants least privilege: no wildcard actions, "*" resources only where AWS requires them', () => {
    const statements: Array<{ Effect: string; Action: string | string[]; Resource: unknown }> = [];
    for (const [, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
      statements.push(...policy.Properties.PolicyDocument.Statement);
    }
    for (const [, role] of resourcesOf(template, 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      for (const inline of role.Properties.Policies ?? [])
        statements.push(...inline.PolicyDocument.Statement);
    }
    expect(statements.length).toBeGreaterThan(10);
    const allowedStar = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
    for (const statement of statements) {
      const actions = [statement.Action].flat();
      for (const action of actions) {
        expect(action).not.toBe('*');
        expect(action, 'no service-wide wildcard').not.toMatch(/^[a-z0-9-]+:\*$/);
      }
      const resources = [statement.Resource].flat();
      if (resources.includes('*')) {
        for (const action of actions) expect(allowedStar, `${action} on "*"`).toContain(action);
      }
      for (const resource of resources) {
        const text = JSON.stringify(resource);
        if (actions.some((a) => a.startsWith('secretsmanager:')) && text.includes('*')) {
          expect(text).toContain(':secret:autotask-governor/prod/connections/*');
        }
      }
      if (actions.some((a) => a.startsWith('ses:'))) {
        expect(JSON.stringify(resources)).toContain(':identity/');
      }
      if (actions.some((a) => a.startsWith('dynamodb:'))) {
        expect(actions).not.toContain('dynamodb:DeleteTable');
        expect(resources).toEqual([{ 'Fn::GetAtt': [ids.table, 'Arn'] }]);
      }
    }
    // Only the worker calls Autotask with credentials; the API may only check a secret exists.
    const apiPolicy = resourcesOf(template, 'AWS::IAM::Policy').find(([id]) =>
      id.startsWith('ApiFunctionRole'),
    )!;
    const apiSecretStatements = apiPolicy[1].Properties.PolicyDocument.Statement.filter(
      (s: { Resource: unknown }) => JSON.stringify(s.Resource).includes('connections/*'),
    );
    expect(apiSecretStatements).toEqual([
      expect.objectContaining({ Action: 'secretsmanager:DescribeSecret' }),
    ]);
  });
});

describe('GovernorStack (configured)', () => {
  it('applies batch size, concurrency, throttling, CORS, reply queues, recipients and the alarm e-mail', () => {
    const replyArn = 'arn:aws:sqs:eu-west-1:123456789012:crm-replies';
    const { template } = synth({
      stage: 'test',
      workerBatchSize: 4,
      workerBatchingWindowSeconds: 3,
      workerMaxConcurrency: 12,
      apiThrottleRate: 5,
      apiThrottleBurst: 10,
      corsOrigins: ['https://ops.msp.example'],
      replyQueueArns: [replyArn],
      alarmEmail: 'oncall@msp.example',
      alertRecipients: ['admin@msp.example'],
      createSenderIdentity: false,
      logRetentionDays: 90,
    });
    expect(template.toJSON().Resources).toBeDefined();
    // the configured event source is the jobs and delay queues'; the critical lane keeps its own
    const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').filter(
      ([, m]) => !JSON.stringify(m.Properties.EventSourceArn).includes('QueuesCritical'),
    );
    expect(mappings).toHaveLength(2);
    for (const [, m] of mappings) {
      expect(m.Properties).toMatchObject({
        BatchSize: 4,
        MaximumBatchingWindowInSeconds: 3,
        ScalingConfig: { MaximumConcurrency: 12 },
      });
    }
    // the worker sends waiting jobs that much early (the window would otherwise make them late)
    const worker = resourcesOf(template, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('WorkerFunction'),
    )?.[1];
    expect(worker?.Properties.Environment.Variables.BATCHING_WINDOW_SECONDS).toBe('3');
    // the only replyTo the worker and POST /jobs accept: the reply queue's URL, derived from its ARN
    const replyUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/crm-replies';
    expect(worker?.Properties.Environment.Variables.REPLY_QUEUE_URLS).toBe(replyUrl);
    const api = resourcesOf(template, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('ApiFunction'),
    )?.[1];
    expect(api?.Properties.Environment.Variables.REPLY_QUEUE_URLS).toBe(replyUrl);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://ops.msp.example'] }),
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: replyArn }]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@msp.example',
    });
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    const sesResources = JSON.stringify(
      resourcesOf(template, 'AWS::IAM::Policy').flatMap(([, p]) =>
        p.Properties.PolicyDocument.Statement.filter((s: { Action: unknown }) =>
          JSON.stringify(s.Action).includes('ses:'),
        ),
      ),
    );
    for (const identity of [
      'identity/alerts@msp.example',
      'identity/msp.example',
      'identity/admin@msp.example',
    ]) {
      expect(sesResources).toContain(identity);
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ALERT_RECIPIENTS: 'admin@msp.example' }) },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'autotask-governor-test-jobs' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('fails with the key named when configuration is invalid', () => {
    expect(() => synth({ senderEmail: undefined })).toThrow(/Invalid context "senderEmail": is required/);
    expect(() => synth({ workerMaxConcurrency: 5000 })).toThrow(
      /"workerMaxConcurrency": must be an integer from 2 to 1000/,
    );
  });
});
