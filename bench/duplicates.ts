import type { ChildProcess } from 'node:child_process';
import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { LOCAL_SECRET_PREFIX, LOCAL_USER, type LocalGovernor } from '#local/governor.ts';
import { createResources } from '#local/resources.ts';
import { putSecret } from '#local/secrets.ts';
import { AutotaskHttpClient } from '#shared/autotask/client.ts';
import type { JobResult } from '#shared/jobs/result.ts';
import { spawnWorker } from './runners.ts';
import { queueCounts, sleep, writeJobs } from './workload.ts';

export interface DuplicatesOutcome {
  jobs: number;
  kills: number;
  writesSentTwice: number;
  lost: number;
  succeeded: number;
  deadLettered: Record<string, number>;
  seconds: number;
}

/** Counts tickets per title through the Autotask API: a title seen twice is a write sent twice. */
export const countDuplicates = async (
  gov: LocalGovernor,
  prefix: string,
): Promise<{ titles: number; duplicates: number }> => {
  const client = new AutotaskHttpClient({ zoneDiscoveryUrl: gov.simulator.zoneDiscoveryUrl });
  const zone = await client.discoverZone(LOCAL_USER.username);
  const seen = new Map<string, number>();
  let call: Parameters<typeof client.send>[2] | null = {
    method: 'POST',
    path: '/Tickets/query',
    body: {
      MaxRecords: 500,
      IncludeFields: ['id', 'title'],
      filter: [{ op: 'beginsWith', field: 'title', value: `${prefix}-` }],
    },
  };
  while (call) {
    const reply = await client.send(zone, LOCAL_USER, call);
    for (const item of (reply.body as { items: Array<{ title: string }> }).items)
      seen.set(item.title, (seen.get(item.title) ?? 0) + 1);
    call = reply.nextPage;
  }
  let duplicates = 0;
  for (const count of seen.values()) duplicates += count - 1;
  return { titles: seen.size, duplicates };
};

/**
 * (a) The governor's worker in a child process, SIGKILLed `kills` times at random points while a
 * backlog of Autotask writes runs; each kill leaves its in-flight messages to come back after the
 * visibility timeout, exactly as a crashed Lambda would.
 */
export const governorDuplicates = async (
  gov: LocalGovernor,
  jobsCount: number,
  kills: number,
): Promise<DuplicatesOutcome> => {
  const started = Date.now();
  const resources = await createResources(gov.emulators, { prefix: 'bench-dup' });
  for (const url of [resources.queueUrls.jobs, resources.queueUrls.delay]) {
    await gov.sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '4' } }),
    );
  }
  const { dynamo } = await import('#shared/aws/clients.ts');
  const { DynamoConnectionStore } = await import('#shared/connections/store.ts');
  const connectionId = `dup-${Date.now()}`;
  const secretRef = `${LOCAL_SECRET_PREFIX}${connectionId}`;
  await putSecret(secretRef, { secret: LOCAL_USER.secret });
  await new DynamoConnectionStore(dynamo, resources.tableName).put(connectionId, {
    apiUser: LOCAL_USER.username,
    integrationCode: LOCAL_USER.integrationCode,
    secretRef,
  });
  const env = {
    ...process.env,
    ...gov.emulators.env,
    ...resources.env,
    JOBS_QUEUE_ARN: resources.queueArns.jobs,
    DELAY_QUEUE_ARN: resources.queueArns.delay,
    ZONE_DISCOVERY_URL: gov.simulator.zoneDiscoveryUrl,
    LOG_LEVEL: 'silent',
    METRICS_DISABLED: 'true',
  };
  const startChild = (): Promise<ChildProcess> => spawnWorker(env);
  const prefix = connectionId;
  const jobs = writeJobs(prefix, connectionId, jobsCount);
  const sendSqs = new (await import('@aws-sdk/client-sqs')).SQSClient({
    region: gov.emulators.region,
    endpoint: gov.emulators.endpoints.sqs,
  });
  const { SendMessageBatchCommand, ReceiveMessageCommand, DeleteMessageBatchCommand } = await import(
    '@aws-sdk/client-sqs'
  );
  for (let i = 0; i < jobs.length; i += 10) {
    await sendSqs.send(
      new SendMessageBatchCommand({
        QueueUrl: resources.queueUrls.jobs,
        Entries: jobs.slice(i, i + 10).map((j, k) => ({ Id: String(k), MessageBody: JSON.stringify(j) })),
      }),
    );
  }
  let child = await startChild();
  for (let k = 0; k < kills; k++) {
    await sleep(300 + Math.random() * 1200);
    child.kill('SIGKILL');
    child = await startChild();
  }
  const results = new Map<string, JobResult>();
  const dead = new Map<string, string>();
  const deadline = Date.now() + 150_000;
  const drain = async (url: string, onMessage: (body: string, reason?: string) => void) => {
    for (;;) {
      const out = await sendSqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return;
      for (const m of messages) onMessage(m.Body ?? '', m.MessageAttributes?.['gov-reason']?.StringValue);
      await sendSqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  };
  while (results.size + dead.size < jobs.length && Date.now() < deadline) {
    await drain(resources.queueUrls.results, (body) => {
      const r = JSON.parse(body) as JobResult;
      results.set(r.jobId, r);
    });
    await drain(resources.queueUrls.deadLetter, (body, reason) => {
      const id = (JSON.parse(body) as { jobId: string }).jobId;
      // no reason attribute: SQS itself moved it after maxReceiveCount deliveries (the crash safety net)
      if (!results.has(id)) dead.set(id, reason ?? 'sqs-redrive');
    });
  }
  child.kill('SIGKILL');
  sendSqs.destroy();
  const { duplicates } = await countDuplicates(gov, prefix);
  const deadLettered: Record<string, number> = {};
  for (const reason of dead.values()) deadLettered[reason] = (deadLettered[reason] ?? 0) + 1;
  return {
    jobs: jobs.length,
    kills,
    writesSentTwice: duplicates,
    lost: jobs.length - results.size - dead.size,
    succeeded: [...results.values()].filter((r) => r.status === 'succeeded').length,
    deadLettered,
    seconds: Math.round((Date.now() - started) / 1000),
  };
};

/**
 * (b), (c): the usual at-least-once SQS consumer around a limiter (receive, acquire, call, delete),
 * "killed" the same number of times: every message in flight at a kill is abandoned where it is
 * and comes back after the visibility timeout, as with a crashed container.
 */
export const limiterDuplicates = async (
  gov: LocalGovernor,
  limiter: { acquire(): Promise<void> },
  name: string,
  jobsCount: number,
  kills: number,
): Promise<DuplicatesOutcome> => {
  const started = Date.now();
  const { SendMessageBatchCommand, ReceiveMessageCommand, DeleteMessageCommand } = await import(
    '@aws-sdk/client-sqs'
  );
  const resources = await createResources(gov.emulators, { prefix: `bench-dup-${name}` });
  await gov.sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: resources.queueUrls.jobs,
      Attributes: { VisibilityTimeout: '4' },
    }),
  );
  const prefix = `dup-${name}-${Date.now()}`;
  const jobs = writeJobs(prefix, 'none', jobsCount);
  for (let i = 0; i < jobs.length; i += 10) {
    await gov.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: resources.queueUrls.jobs,
        Entries: jobs.slice(i, i + 10).map((j, k) => ({ Id: String(k), MessageBody: JSON.stringify(j) })),
      }),
    );
  }
  const client = new AutotaskHttpClient({ zoneDiscoveryUrl: gov.simulator.zoneDiscoveryUrl });
  const zone = await client.discoverZone(LOCAL_USER.username);
  const done = new Set<string>();
  let generation = 0;
  const consumer = async (gen: number): Promise<void> => {
    try {
      await consume(gen);
    } catch {
      // a failed receive/limiter call must not end this "container": carry on like a restarted loop
      if (gen === generation) return consumer(gen);
    }
  };
  const consume = async (gen: number) => {
    while (gen === generation && done.size < jobs.length) {
      const out = await gov.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.queueUrls.jobs,
          MaxNumberOfMessages: 5,
          WaitTimeSeconds: 1,
        }),
      );
      for (const m of out.Messages ?? []) {
        if (gen !== generation) return;
        const job = JSON.parse(m.Body ?? '{}') as (typeof jobs)[number];
        await limiter.acquire();
        if (gen !== generation) return;
        await client
          .send(zone, LOCAL_USER, { method: 'POST', path: '/Tickets', body: job.request.body })
          .catch(() => undefined);
        if (gen !== generation) return; // killed after the write, before the delete
        await gov.sqs.send(
          new DeleteMessageCommand({ QueueUrl: resources.queueUrls.jobs, ReceiptHandle: m.ReceiptHandle }),
        );
        done.add(job.jobId);
      }
    }
  };
  const start = () => {
    const gen = ++generation;
    return Array.from({ length: 8 }, () => consumer(gen));
  };
  let running = start();
  for (let k = 0; k < kills; k++) {
    await sleep(150 + Math.random() * 900);
    running = start();
  }
  // done when every job is done, or when the queue is empty (a message that ran out of receives was
  // moved to the dead-letter queue by SQS's redrive: for this consumer, a lost job)
  const deadline = Date.now() + 150_000;
  let emptyLooks = 0;
  while (done.size < jobs.length && Date.now() < deadline && emptyLooks < 3) {
    await sleep(500);
    emptyLooks = (await queueCounts(gov, resources.queueUrls.jobs)).total === 0 ? emptyLooks + 1 : 0;
  }
  generation++;
  await Promise.allSettled(running);
  const { duplicates } = await countDuplicates(gov, prefix);
  return {
    jobs: jobs.length,
    kills,
    writesSentTwice: duplicates,
    lost: jobs.length - done.size,
    succeeded: done.size,
    deadLettered: {},
    seconds: Math.round((Date.now() - started) / 1000),
  };
};
