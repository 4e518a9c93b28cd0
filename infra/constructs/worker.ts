import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { criticalEventSource, envNames, WORKER_TIMEOUT_SECONDS } from '#shared/config/resources.ts';
import type { LogLevel } from '../config.ts';
import { entryPath, GovernorFunction, TABLE_ACTIONS } from './governor-function.ts';
import type { Queues } from './queues.ts';

export interface WorkerProps {
  readonly table: ITable;
  readonly queues: Queues;
  readonly connectionSecretPrefix: string;
  readonly replyQueueArns: readonly string[];
  readonly zoneDiscoveryUrl: string;
  readonly batchSize: number;
  /** Lambda's batching window (s); the worker also reads it to send waiting jobs that much early. */
  readonly maxBatchingWindowSeconds: number;
  readonly maxConcurrency: number;
  readonly logRetentionDays: number;
  readonly logLevel: LogLevel;
}

/**
 * The worker: consumes the jobs, critical and delay queues (partial batch responses), reserves budget,
 * calls Autotask, and sends results, waits and dead letters. Each event source has its own maximum
 * concurrency, so a backlog returning from the delay queue cannot starve fresh jobs.
 */
export class Worker extends Construct {
  public readonly fn: GovernorFunction;
  public readonly jobsSource: SqsEventSource;
  public readonly delaySource: SqsEventSource;
  public readonly criticalSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: WorkerProps) {
    super(scope, id);
    const { queues } = props;
    this.fn = new GovernorFunction(this, 'Function', {
      entry: entryPath('worker'),
      description: 'autotask-governor worker: governed Autotask calls from the jobs and delay queues',
      timeout: Duration.seconds(WORKER_TIMEOUT_SECONDS),
      // CPU scales with memory: 512 MB keeps TLS handshakes and cold starts short for an I/O-bound worker.
      memorySize: 512,
      logRetentionDays: props.logRetentionDays,
      logLevel: props.logLevel,
      environment: {
        [envNames.zoneDiscoveryUrl]: props.zoneDiscoveryUrl,
        [envNames.batchingWindowSeconds]: String(props.maxBatchingWindowSeconds),
      },
    })
      .bindTable(props.table, TABLE_ACTIONS.worker)
      .bindQueue(envNames.delayQueueUrl, queues.delay)
      .bindQueue(envNames.parkedQueueUrl, queues.parked)
      .bindQueue(envNames.resultsQueueUrl, queues.results)
      .bindQueue(envNames.deadLetterQueueUrl, queues.deadLetter)
      .allowReplyQueues(props.replyQueueArns)
      // No SES: a 429's sleep e-mail waits in the connection's outbox and the sync sends it.
      .allowSecretsUnder(props.connectionSecretPrefix, ['secretsmanager:GetSecretValue']);
    // Part of the worker's environment contract; it only receives from this queue (event source), never sends.
    this.fn.addEnvironment(envNames.jobsQueueUrl, queues.jobs.queueUrl);

    const source = {
      batchSize: props.batchSize,
      maxConcurrency: props.maxConcurrency,
      reportBatchItemFailures: true,
      ...(props.maxBatchingWindowSeconds > 0
        ? { maxBatchingWindow: Duration.seconds(props.maxBatchingWindowSeconds) }
        : {}),
    };
    this.jobsSource = new SqsEventSource(queues.jobs, source);
    this.delaySource = new SqsEventSource(queues.delay, source);
    // critical jobs' lane: taken at once, in small batches, beside whatever backlog the others hold
    this.criticalSource = new SqsEventSource(queues.critical, {
      batchSize: criticalEventSource.batchSize,
      maxConcurrency: criticalEventSource.maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.fn.addEventSource(this.jobsSource);
    this.fn.addEventSource(this.delaySource);
    this.fn.addEventSource(this.criticalSource);
  }
}
