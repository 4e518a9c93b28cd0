/**
 * Jobs that met a sleeping connection wait in the parked queue, which nothing polls, until the
 * connection wakes: the wake itself (by hand, by link or automatically at the sync's reading) hands
 * them back to the delay queue, so they run within seconds of it instead of after a look-again
 * period, and a waiting job costs no SQS request while it waits (docs/operations.md, "Parked jobs").
 * The sync also sweeps the parked queue of every awake connection, so a job parked in the instant
 * between a wake and its release waits at most one sync period.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ATTR, PARKED_CONNECTION_ATTR } from '#shared/jobs/queue.ts';

export interface ReleaseOutcome {
  /** Jobs handed back to the delay queue. */
  released: number;
  /** Jobs of other connections seen and left parked. */
  leftParked: number;
}

export interface ParkedJobs {
  /** Hands back every job parked for `connectionId` (within `maxMs`; the sweep takes the rest). */
  release(connectionId: string, maxMs?: number): Promise<ReleaseOutcome>;
}

/** While a batch is being moved; a releaser that dies in between leaves it to the next one. */
const IN_HAND_SECONDS = 30;
/**
 * A wake answers after its move, within the API function's 10 s timeout: a move of more than this
 * (about a thousand jobs) leaves the rest to the sync's sweep, which follows within a minute.
 */
const DEFAULT_MAX_MS = 4_000;

export class SqsParkedJobs implements ParkedJobs {
  constructor(
    private readonly sqs: SQSClient,
    private readonly urls: { parked: string; delay: string },
  ) {}

  /** Messages visible in the parked queue (one GetQueueAttributes): the sweep looks only when some wait. */
  async waiting(): Promise<number> {
    const out = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.urls.parked,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  }

  /**
   * Receives batches of 10 and moves this connection's jobs to the delay queue (no delay; their
   * attributes travel with them), then deletes them. Other connections' jobs are made visible again
   * at once, for their own wake. Stops when the queue answers empty, when a batch brings nothing not
   * seen already (only other connections' jobs are left), or after `maxMs`.
   */
  async release(connectionId: string, maxMs = DEFAULT_MAX_MS): Promise<ReleaseOutcome> {
    const deadline = Date.now() + maxMs;
    const seen = new Set<string>();
    const outcome: ReleaseOutcome = { released: 0, leftParked: 0 };
    while (Date.now() < deadline) {
      const out = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.urls.parked,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: IN_HAND_SECONDS,
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      const fresh = messages.filter((m) => !seen.has(m.MessageId ?? ''));
      for (const m of messages) seen.add(m.MessageId ?? '');
      const mine = messages.filter(
        (m) => m.MessageAttributes?.[PARKED_CONNECTION_ATTR]?.StringValue === connectionId,
      );
      const others = messages.filter((m) => !mine.includes(m));
      if (mine.length > 0) await this.moveToDelay(mine);
      if (others.length > 0) await this.putBack(others);
      outcome.released += mine.length;
      outcome.leftParked += others.filter((m) => fresh.includes(m)).length;
      if (fresh.length === 0) break;
    }
    return outcome;
  }

  private async moveToDelay(messages: Message[]): Promise<void> {
    const sent = await this.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: this.urls.delay,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body ?? '',
          MessageAttributes: carried(m.MessageAttributes ?? {}),
        })),
      }),
    );
    const failed = new Set((sent.Failed ?? []).map((f) => f.Id));
    // a job not handed back stays parked (visible again after IN_HAND_SECONDS): never deleted unsent
    const done = messages.filter((_, i) => !failed.has(String(i)));
    if (done.length === 0) return;
    await this.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.urls.parked,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }

  private async putBack(messages: Message[]): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: this.urls.parked,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

/** The job's bookkeeping goes back with it; the parking mark and a stale `notBefore` do not. */
const carried = (attrs: Record<string, MessageAttributeValue>): Record<string, MessageAttributeValue> =>
  Object.fromEntries(
    Object.entries(attrs).filter(([name]) => name !== PARKED_CONNECTION_ATTR && name !== ATTR.notBefore),
  );
