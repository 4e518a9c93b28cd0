import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { Queues } from './queues.ts';

/** EMF namespace the functions write to (shared/observability/metrics.ts). */
export const METRIC_NAMESPACE = 'AutotaskGovernor';

export interface MonitoringProps {
  readonly stage: string;
  readonly queues: Queues;
  readonly worker: IFunction;
  readonly sync: IFunction;
  readonly api: IFunction;
  readonly alarmEmail: string | undefined;
  /** Oldest job on the jobs queue before the alarm fires (the worker normally takes a job in seconds). */
  readonly oldestJobAlarmSeconds?: number;
}

/**
 * Alarms to an SNS topic the MSP subscribes to, and one dashboard.
 *
 * The topic is encrypted with a customer managed key because CloudWatch must be allowed, in the key
 * policy, to encrypt what it publishes: the AWS managed SNS key's policy cannot be changed, so alarms
 * could not publish to a topic encrypted with it.
 * Metric alarms use the stack-wide EMF metrics (no dimensions), so no per-connection setup is needed.
 */
export class Monitoring extends Construct {
  public readonly alarmTopicKey: Key;
  public readonly alarmTopic: Topic;
  public readonly alarms: Record<
    | 'deadLetters'
    | 'oldestJob'
    | 'workerErrors'
    | 'syncErrors'
    | 'apiErrors'
    | 'throttled429'
    | 'connectionAsleep',
    Alarm
  >;
  public readonly dashboard: Dashboard;
  public readonly dashboardName: string;
  public readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const prefix = `autotask-governor-${props.stage}`;

    this.alarmTopicKey = new Key(this, 'AlarmTopicKey', {
      description: `Encrypts the ${prefix} alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.alarmTopicKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        // In a key policy "*" means this key.
        resources: ['*'],
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: `${prefix} alarms`,
      masterKey: this.alarmTopicKey,
      enforceSSL: true,
    });
    // The topic's own policy (which enforceSSL creates) replaces SNS's default one: allow our alarms only.
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowThisStacksAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${prefix}-*`,
          },
        },
      }),
    );
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    const emf = (metricName: string, statistic: string) =>
      new Metric({ namespace: METRIC_NAMESPACE, metricName, statistic, period: Duration.minutes(1) });
    const fiveMinutes = { period: Duration.minutes(5) };
    const oldestJobSeconds = props.oldestJobAlarmSeconds ?? 600;

    const alarm = (
      id: string,
      name: string,
      description: string,
      metric: IMetric,
      threshold: number,
      options: { evaluationPeriods?: number; missing?: TreatMissingData } = {},
    ) => {
      const created = new Alarm(this, id, {
        alarmName: `${prefix}-${name}`,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(this.alarmTopic));
      created.addOkAction(new SnsAction(this.alarmTopic));
      return created;
    };

    this.alarms = {
      deadLetters: alarm(
        'DeadLettersAlarm',
        'dead-letters',
        'Jobs are waiting on the dead-letter queue: see their gov-reason attribute, fix, and redrive.',
        props.queues.deadLetter.metricApproximateNumberOfMessagesVisible({
          ...fiveMinutes,
          statistic: 'Maximum',
        }),
        1,
      ),
      oldestJob: alarm(
        'OldestJobAlarm',
        'oldest-job',
        `A job has waited over ${oldestJobSeconds} s on the jobs queue: the worker is not consuming it.`,
        props.queues.jobs.metricApproximateAgeOfOldestMessage({ ...fiveMinutes, statistic: 'Maximum' }),
        oldestJobSeconds,
      ),
      workerErrors: alarm(
        'WorkerErrorsAlarm',
        'worker-errors',
        'The worker function failed (crashed or timed out) at least once.',
        props.worker.metricErrors({ ...fiveMinutes, statistic: 'Sum' }),
        1,
      ),
      // One failed minute is healed by the next run; two in five minutes mean usage data is going stale.
      syncErrors: alarm(
        'SyncErrorsAlarm',
        'sync-errors',
        'The ThresholdInformation sync failed at least twice in five minutes.',
        props.sync.metricErrors({ ...fiveMinutes, statistic: 'Sum' }),
        2,
      ),
      apiErrors: alarm(
        'ApiErrorsAlarm',
        'api-errors',
        'The operators API function failed (crashed or timed out) at least once.',
        props.api.metricErrors({ ...fiveMinutes, statistic: 'Sum' }),
        1,
      ),
      throttled429: alarm(
        'Throttled429Alarm',
        'autotask-429',
        'Autotask answered 429 (threshold exceeded): the budget was wrong about other usage; the connection sleeps.',
        emf('Throttled429', 'Sum'),
        1,
      ),
      connectionAsleep: alarm(
        'ConnectionAsleepAlarm',
        'connection-asleep',
        'At least one connection is asleep (usage over its sleep threshold); wake it from the e-mail or the API.',
        emf('ConnectionsAsleep', 'Maximum'),
        1,
      ),
    };

    this.dashboardName = prefix;
    const delay = props.queues.delay;
    const jobsWaiting = new MathExpression({
      label: 'jobs waiting (delay queue)',
      expression: 'visible + inflight + delayed',
      usingMetrics: {
        visible: delay.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' }),
        inflight: delay.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum' }),
        delayed: delay.metric('ApproximateNumberOfMessagesDelayed', { statistic: 'Maximum' }),
      },
      period: Duration.minutes(1),
    });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: this.dashboardName,
      widgets: [
        [
          new GraphWidget({
            title: 'Autotask calls per minute',
            left: [
              emf('CallsMade', 'Sum').with({ label: 'ours (CallsMade)' }),
              emf('OtherCalls', 'Sum').with({ label: "other integrations' (OtherCalls)" }),
            ],
            stacked: true,
            width: 12,
          }),
          new GraphWidget({
            title: 'Budget left (requests in the rolling window)',
            left: [emf('BudgetLeft', 'Minimum').with({ label: 'BudgetLeft (min)' })],
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Jobs waiting and throttled',
            left: [jobsWaiting],
            right: [emf('JobsThrottled', 'Sum').with({ label: 'jobs throttled per minute' })],
            width: 12,
          }),
          new GraphWidget({
            title: 'Jobs queue and dead letters',
            left: [
              props.queues.jobs.metricApproximateNumberOfMessagesVisible({
                label: 'jobs queued',
                statistic: 'Maximum',
              }),
              props.queues.deadLetter.metricApproximateNumberOfMessagesVisible({
                label: 'dead letters',
                statistic: 'Maximum',
              }),
            ],
            right: [emf('Throttled429', 'Sum').with({ label: 'Autotask 429s' })],
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Function errors',
            left: [
              props.worker.metricErrors({ label: 'worker', period: Duration.minutes(1) }),
              props.sync.metricErrors({ label: 'sync', period: Duration.minutes(1) }),
              props.api.metricErrors({ label: 'api', period: Duration.minutes(1) }),
            ],
            width: 12,
          }),
          new AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 12 }),
        ],
      ],
    });
    this.dashboardUrl = `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${this.dashboardName}`;
  }
}
