import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { envNames } from '#shared/config/resources.ts';
import type { LogLevel } from '../config.ts';
import type { Alerts } from './alerts.ts';
import { entryPath, GovernorFunction } from './governor-function.ts';

export interface SyncProps {
  readonly table: ITable;
  readonly delayQueue: IQueue;
  readonly alerts: Alerts;
  readonly connectionSecretPrefix: string;
  readonly zoneDiscoveryUrl: string;
  readonly logRetentionDays: number;
  readonly logLevel: LogLevel;
}

/** Reads each connection's ThresholdInformation from Autotask every minute (EventBridge rule). */
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
      .bindTable(props.table)
      .bindQueue(envNames.delayQueueUrl, props.delayQueue)
      .allowSecretsUnder(props.connectionSecretPrefix, ['secretsmanager:GetSecretValue'])
      .bindSender(props.alerts);

    this.rule = new Rule(this, 'EveryMinute', {
      description: 'Runs the autotask-governor sync every minute',
      schedule: Schedule.rate(Duration.minutes(1)),
      // A missed run is superseded by the next one a minute later: no retries, no stale events.
      targets: [new LambdaFunction(this.fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });
  }
}
