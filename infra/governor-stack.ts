import { type App, CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { envNames } from '#shared/config/resources.ts';
import { type GovernorConfig, loadConfig } from './config.ts';
import { Alerts } from './constructs/alerts.ts';
import { Api } from './constructs/api.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { Queues } from './constructs/queues.ts';
import { Secrets } from './constructs/secrets.ts';
import { Sync } from './constructs/sync.ts';
import { Tables } from './constructs/tables.ts';
import { Worker } from './constructs/worker.ts';

export interface GovernorStackProps extends StackProps {
  readonly config: GovernorConfig;
}

/**
 * The whole product in one environment-agnostic stack (no account/region lookups, so `cdk synth`
 * works offline and the same template deploys anywhere the MSP runs `cdk deploy`).
 */
export class GovernorStack extends Stack {
  public readonly tables: Tables;
  public readonly queues: Queues;
  public readonly secrets: Secrets;
  public readonly alerts: Alerts;
  public readonly worker: Worker;
  public readonly sync: Sync;
  public readonly api: Api;
  public readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: GovernorStackProps) {
    super(scope, id, props);
    const { config } = props;
    const common = { logRetentionDays: config.logRetentionDays, logLevel: config.logLevel };

    this.tables = new Tables(this, 'Tables');
    this.queues = new Queues(this, 'Queues', { stage: config.stage });
    this.secrets = new Secrets(this, 'Secrets', { stage: config.stage });
    this.alerts = new Alerts(this, 'Alerts', {
      senderEmail: config.senderEmail,
      createSenderIdentity: config.createSenderIdentity,
      alertRecipients: config.alertRecipients,
    });
    const { table } = this.tables;
    const { connectionSecretPrefix } = this.secrets;

    this.worker = new Worker(this, 'Worker', {
      ...common,
      table,
      queues: this.queues,
      connectionSecretPrefix,
      replyQueueArns: config.replyQueueArns,
      zoneDiscoveryUrl: config.zoneDiscoveryUrl,
      batchSize: config.workerBatchSize,
      maxBatchingWindowSeconds: config.workerBatchingWindowSeconds,
      maxConcurrency: config.workerMaxConcurrency,
    });
    this.sync = new Sync(this, 'Sync', {
      ...common,
      table,
      wakeLinkSecret: this.secrets.wakeLinkSecret,
      alerts: this.alerts,
      connectionSecretPrefix,
      zoneDiscoveryUrl: config.zoneDiscoveryUrl,
      parkedQueue: this.queues.parked,
      delayQueue: this.queues.delay,
    });
    this.api = new Api(this, 'Api', {
      ...common,
      table,
      jobsQueue: this.queues.jobs,
      criticalQueue: this.queues.critical,
      delayQueue: this.queues.delay,
      parkedQueue: this.queues.parked,
      alerts: this.alerts,
      wakeLinkSecret: this.secrets.wakeLinkSecret,
      connectionSecretPrefix,
      replyQueueArns: config.replyQueueArns,
      throttleRate: config.apiThrottleRate,
      throttleBurst: config.apiThrottleBurst,
      corsOrigins: config.corsOrigins,
    });

    for (const fn of [this.sync.fn, this.api.fn]) {
      // The functions that send alert e-mails link to the API. Its endpoint depends on its id only
      // (not on its routes or the function), so this makes no dependency cycle.
      fn.addEnvironment(envNames.publicApiUrl, this.api.url);
      if (config.alertRecipients.length > 0)
        fn.addEnvironment(envNames.alertRecipients, config.alertRecipients.join(','));
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      stage: config.stage,
      queues: this.queues,
      worker: this.worker.fn,
      sync: this.sync.fn,
      api: this.api.fn,
      alarmEmail: config.alarmEmail,
    });

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('ApiUrl', this.api.url, 'Operators API base URL (routes need Authorization: Bearer <token>)');
    output('JobsQueueUrl', this.queues.jobs.queueUrl, 'Integrations send jobs here');
    output('JobsQueueArn', this.queues.jobs.queueArn, "For integrations' sqs:SendMessage permission");
    output('CriticalJobsQueueUrl', this.queues.critical.queueUrl, 'Integrations send critical jobs here');
    output(
      'CriticalJobsQueueArn',
      this.queues.critical.queueArn,
      "For integrations' sqs:SendMessage permission (critical jobs)",
    );
    output('DelayQueueUrl', this.queues.delay.queueUrl, 'Throttled jobs wait here');
    output('ParkedQueueUrl', this.queues.parked.queueUrl, 'Jobs waiting for their connection to wake');
    output('ResultsQueueUrl', this.queues.results.queueUrl, 'Results of jobs without replyTo');
    output('DeadLetterQueueUrl', this.queues.deadLetter.queueUrl, 'Jobs that cannot run, with the reason');
    output('TableName', table.tableName, `DynamoDB table (${envNames.tableName})`);
    output(
      'ConnectionSecretsPrefix',
      connectionSecretPrefix,
      "Create each connection's Autotask secret under this name prefix",
    );
    output('DashboardName', this.monitoring.dashboardName, 'CloudWatch dashboard');
    output('DashboardUrl', this.monitoring.dashboardUrl, 'CloudWatch dashboard');
    output('AlarmTopicArn', this.monitoring.alarmTopic.topicArn, 'Subscribe to receive alarms');
  }
}

/**
 * Builds the governor on an app: validated configuration from the app's context, the stack, and
 * cdk-nag's AWS Solutions checks (findings fail synth). Throws ConfigError for bad context.
 */
export const addGovernor = (app: App): GovernorStack => {
  const config = loadConfig((key) => app.node.tryGetContext(key));
  const stack = new GovernorStack(app, `AutotaskGovernor-${config.stage}`, {
    config,
    description: `autotask-governor (${config.stage}): keeps every integration of an Autotask database under its API cap`,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
};
