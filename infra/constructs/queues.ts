import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { queues as shape, WORKER_TIMEOUT_SECONDS } from '#shared/config/resources.ts';

export interface QueuesProps {
  /** Queue names are `autotask-governor-<stage>-<suffix>` so integrations can find them by name. */
  readonly stage: string;
}

/**
 * The six queues. All use SQS-managed encryption (SSE-SQS): encrypted at rest at no cost and with
 * no KMS call per message (at ~7 M jobs a month a customer managed key would add KMS request charges
 * and a key policy every producer must be granted), and all refuse non-TLS requests.
 * The jobs, critical and delay queues redrive to the dead-letter queue after maxReceiveCount receives: the
 * worker reports failed records itself, so a redrive means a record crashed the worker repeatedly.
 */
export class Queues extends Construct {
  public readonly jobs: Queue;
  public readonly critical: Queue;
  public readonly delay: Queue;
  public readonly parked: Queue;
  public readonly results: Queue;
  public readonly deadLetter: Queue;

  constructor(scope: Construct, id: string, props: QueuesProps) {
    super(scope, id);
    const name = (suffix: string) => `autotask-governor-${props.stage}-${suffix}`;
    const common = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;

    this.deadLetter = new Queue(this, 'DeadLetter', {
      ...common,
      queueName: name(shape.deadLetter.suffix),
      retentionPeriod: Duration.seconds(shape.deadLetter.retentionSeconds),
    });
    // The worker's own partial-batch retries must never look like a stuck message: 6x its timeout.
    const visibility = (s: number) => Duration.seconds(Math.max(s, 6 * WORKER_TIMEOUT_SECONDS));
    this.jobs = new Queue(this, 'Jobs', {
      ...common,
      queueName: name(shape.jobs.suffix),
      visibilityTimeout: visibility(shape.jobs.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetter, maxReceiveCount: shape.jobs.maxReceiveCount },
    });
    this.critical = new Queue(this, 'Critical', {
      ...common,
      queueName: name(shape.critical.suffix),
      visibilityTimeout: visibility(shape.critical.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetter, maxReceiveCount: shape.critical.maxReceiveCount },
    });
    this.delay = new Queue(this, 'Delay', {
      ...common,
      queueName: name(shape.delay.suffix),
      visibilityTimeout: visibility(shape.delay.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetter, maxReceiveCount: shape.delay.maxReceiveCount },
    });
    this.parked = new Queue(this, 'Parked', {
      ...common,
      queueName: name(shape.parked.suffix),
      visibilityTimeout: Duration.seconds(shape.parked.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(shape.parked.retentionSeconds),
    });
    Validations.of(this.parked).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'Jobs wait here, unpolled, while their connection sleeps; the functions that wake it move them to the ' +
        'delay queue, whose own redrive policy guards the worker. A sweep may receive a job of another, sleeping ' +
        'connection many times and put it back, so a receive count here says nothing about a poisoned message.',
    });
    this.results = new Queue(this, 'Results', {
      ...common,
      queueName: name(shape.results.suffix),
      visibilityTimeout: Duration.seconds(shape.results.visibilityTimeoutSeconds),
      // Results wait for their consumers as long as SQS allows.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.results).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'Results are the end of the pipeline, kept 14 days for the integrations that read them; nothing of ours ' +
        'consumes them. Redriving into the jobs dead-letter queue would mix results into job redrives, and what a ' +
        'consumer does with a result it cannot process is its own concern.',
    });
  }
}
