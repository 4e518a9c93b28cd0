import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { envNames } from '#shared/config/resources.ts';
import type { LogLevel } from '../config.ts';
import type { Alerts } from './alerts.ts';
import { entryPath, GovernorFunction, TABLE_ACTIONS } from './governor-function.ts';

export interface SyncProps {
  readonly table: ITable;
  /** Jobs parked while a connection slept: handed back on its automatic resume and by the sweep. */
  readonly parkedQueue: IQueue;
  readonly delayQueue: IQueue;
  /** Signs the wake links of the alert e-mails the sync sends. */
  readonly wakeLinkSecret: ISecret;
  readonly alerts: Alerts;
  readonly connectionSecretPrefix: string;
  readonly zoneDiscoveryUrl: string;
  readonly logRetentionDays: number;
  readonly logLevel: LogLevel;
}

/**
 * Every minute (EventBridge rule): reads each connection's ThresholdInformation from Autotask, runs
 * its sleep/wake state machine and sends the alert e-mails, and archives closed usage hours.
 */
export class Sync extends Construct {
  public readonly fn: GovernorFunction;
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: SyncProps) {
    super(scope, id);
    this.fn = new GovernorFunction(this, 'Function', {
      entry: entryPath('sync'),
      description: 'autotask-governor sync: reads Autotask ThresholdInformation every minute',
      // Under the one-minute period, so two runs never overlap.
      timeout: Duration.seconds(50),
      memorySize: 256,
      logRetentionDays: props.logRetentionDays,
      logLevel: props.logLevel,
      environment: { [envNames.zoneDiscoveryUrl]: props.zoneDiscoveryUrl },
    })
      .bindTable(props.table, TABLE_ACTIONS.sync)
      .allowSecretsUnder(props.connectionSecretPrefix, ['secretsmanager:GetSecretValue'])
      .bindSecret(envNames.wakeLinkSecretArn, props.wakeLinkSecret)
      .bindSender(props.alerts)
      .releasesParked(props.parkedQueue, props.delayQueue);

    this.rule = new Rule(this, 'EveryMinute', {
      description: 'Runs the autotask-governor sync every minute',
      schedule: Schedule.rate(Duration.minutes(1)),
      // A missed run is superseded by the next one a minute later: no retries, no stale events.
      targets: [new LambdaFunction(this.fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });
  }
}
