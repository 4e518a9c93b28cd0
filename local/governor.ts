/**
 * The whole governor on this machine: AWS emulators, the stack's table and queues, the Autotask
 * simulator, a seeded connection and its secret, and pollers that feed the jobs and delay queues to
 * the SAME worker handler Lambda runs. Used by `npm start`, `npm run local`, the tests and the bench.
 *
 * The functions build their SDK clients at import time from AWS_ENDPOINT_URL_* variables, so they
 * are imported only after the emulators' environment is in place: one local governor per process.
 */

import { randomBytes } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  type AutotaskSimulator,
  type SimOptions,
  startAutotaskSimulator,
} from '#local/autotask-sim/index.ts';
import { type Emulators, startEmulators } from '#local/emulators.ts';
import { type HttpApiHandler, startHttpGateway } from '#local/http-gateway.ts';
import { createResources, type Resources } from '#local/resources.ts';
import { putSecret } from '#local/secrets.ts';
import { startPoller } from '#local/sqs-poller.ts';
import type { Role } from '#shared/auth/roles.ts';
import { criticalEventSource, envNames, workerEventSource } from '#shared/config/resources.ts';
import type { ConnectionSettingsInput } from '#shared/connections/model.ts';
import type { JobInput } from '#shared/jobs/schema.ts';

export interface LocalGovernorOptions {
  simulator?: SimOptions;
  connectionId?: string;
  connection?: Partial<ConnectionSettingsInput>;
  /** `inProcess: false`: no pollers here; the caller runs the worker elsewhere (the bench's child process). */
  worker?: {
    batchSize?: number;
    maxConcurrency?: number;
    /** The event sources' batching window (default: the deployed one, workerEventSource). */
    maxBatchingWindowSeconds?: number;
    inProcess?: boolean;
  };
  /** How often the local stand-in for the EventBridge schedule runs the sync function (default: one
   *  bucket of the seeded connection's window, i.e. every minute for a 60-minute window; 0 = never). */
  syncIntervalMs?: number;
  /** Load the worker from elsewhere, e.g. the bundle `cdk synth` wrote (default: functions/worker/handler.ts). */
  loadWorker?: () => Promise<{
    handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;
  }>;
  /** Load the sync and API functions from elsewhere too (default: functions/{sync,api}/handler.ts). */
  loadSync?: () => Promise<{ handler: (event: never, context: never) => Promise<unknown> }>;
  loadApi?: () => Promise<{ handler: unknown }>;
  /** Admins who get the alert e-mails (the stack-wide ALERT_RECIPIENTS; default one local address). */
  alertRecipients?: string[];
  /** Log level of the functions (default: silent, the demo prints its own progress). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** `replyTo` queues allowed besides the local `<prefix>-replies` (they need not exist: e.g. to test a result that cannot be delivered). */
  extraReplyQueueUrls?: string[];
}

export interface LocalGovernor {
  emulators: Emulators;
  resources: Resources;
  simulator: AutotaskSimulator;
  connectionId: string;
  /** The operators' HTTP API (the API function behind the local API Gateway stand-in). */
  apiUrl: string;
  /** A bearer token for the operators' API (as `npm run token -- create` makes); default role admin. */
  createToken(name: string, role?: Role): Promise<string>;
  /** One run of the sync function, as the schedule would start it. */
  syncNow(): Promise<unknown>;
  sqs: SQSClient;
  /** Sends jobs to the jobs queue; `critical: 'lane'` sends critical ones to their own queue, as POST /jobs does. */
  sendJobs(jobs: Array<JobInput | string>, options?: { critical?: 'lane' | 'jobs-queue' }): Promise<void>;
  /** Receives (and deletes) whatever is on a queue right now. */
  drain(queueUrl: string, waitSeconds?: number): Promise<Message[]>;
  stop(): Promise<void>;
}

export const LOCAL_SENDER = 'governor@msp.example';
export const LOCAL_ADMIN = 'admin@msp.example';

/** The local stack's connection-secrets prefix (a deployed stack's is `autotask-governor/<stage>/connections/`). */
export const LOCAL_SECRET_PREFIX = 'autotask-governor/local/connections/';

export const LOCAL_USER = {
  username: 'governor@msp.example',
  secret: 'local-simulator-secret',
  integrationCode: 'GOVERNOR-LOCAL',
};

export const startLocalGovernor = async (options: LocalGovernorOptions = {}): Promise<LocalGovernor> => {
  const connectionId = options.connectionId ?? 'msp-main';
  const emulators = await startEmulators();
  emulators.applyEnv();
  const resources = await createResources(emulators);
  const simulator = await startAutotaskSimulator({
    ...options.simulator,
    users: [LOCAL_USER, ...(options.simulator?.users ?? [])],
  });
  // The API's URL goes into alert e-mails, so the gateway listens before the functions are loaded.
  let api: HttpApiHandler | undefined;
  const gateway = await startHttpGateway({
    handler: (event, context) => {
      if (!api) throw new Error('the API function is not loaded yet');
      return api(event, context);
    },
    functionName: 'autotask-governor-api',
    region: emulators.region,
  });
  const wakeLinkKey = await putSecret('autotask-governor/local/wake-link-signing-key', {
    key: randomBytes(32).toString('hex'),
  });
  const batchingWindowSeconds =
    options.worker?.maxBatchingWindowSeconds ?? workerEventSource.maxBatchingWindowSeconds;
  Object.assign(process.env, resources.env, {
    ZONE_DISCOVERY_URL: simulator.zoneDiscoveryUrl,
    [envNames.connectionSecretPrefix]: LOCAL_SECRET_PREFIX,
    METRICS_DISABLED: 'true',
    [envNames.senderEmail]: LOCAL_SENDER,
    [envNames.alertRecipients]: (options.alertRecipients ?? [LOCAL_ADMIN]).join(','),
    [envNames.publicApiUrl]: gateway.url,
    [envNames.wakeLinkSecretArn]: wakeLinkKey.arn,
    [envNames.batchingWindowSeconds]: String(batchingWindowSeconds),
    [envNames.replyQueueUrls]: [resources.replyQueue.awsUrl, ...(options.extraReplyQueueUrls ?? [])].join(
      ',',
    ),
  });

  const { configureLogging } = await import('#shared/observability/logger.ts');
  configureLogging({ level: options.logLevel ?? 'silent' });
  const secretRef = `${LOCAL_SECRET_PREFIX}${connectionId}`;
  await putSecret(secretRef, { secret: LOCAL_USER.secret });
  const { dynamo } = await import('#shared/aws/clients.ts');
  const { DynamoConnectionStore } = await import('#shared/connections/store.ts');
  await new DynamoConnectionStore(dynamo, resources.tableName).put(connectionId, {
    apiUser: LOCAL_USER.username,
    integrationCode: LOCAL_USER.integrationCode,
    secretRef,
    ...options.connection,
  });

  const { handler } = options.loadWorker
    ? await options.loadWorker()
    : await import('#functions/worker/handler.ts');
  const worker = {
    batchSize: options.worker?.batchSize ?? workerEventSource.batchSize,
    maxConcurrency: options.worker?.maxConcurrency ?? workerEventSource.maxConcurrency,
    maxBatchingWindowSeconds: batchingWindowSeconds,
  };
  const pollers = (options.worker?.inProcess === false ? [] : (['jobs', 'delay', 'critical'] as const)).map(
    (name) =>
      startPoller({
        queueUrl: resources.queueUrls[name],
        queueArn: resources.queueArns[name],
        handler: (event, context) => handler(event, context),
        // the critical lane's own event source (infra/constructs/worker.ts)
        ...(name === 'critical'
          ? {
              batchSize: Math.min(worker.batchSize, criticalEventSource.batchSize),
              maxBatchingWindowSeconds: criticalEventSource.maxBatchingWindowSeconds,
              maxConcurrency: Math.max(
                criticalEventSource.maxConcurrency,
                Math.ceil(worker.maxConcurrency / 4),
              ),
            }
          : {
              batchSize: worker.batchSize,
              maxBatchingWindowSeconds: worker.maxBatchingWindowSeconds,
              maxConcurrency: worker.maxConcurrency,
            }),
        functionName: 'autotask-governor-worker',
        region: emulators.region,
      }),
  );

  const windowSeconds = options.connection?.windowSeconds ?? 3600;
  const syncIntervalMs = options.syncIntervalMs ?? Math.max(250, (windowSeconds * 1000) / 60);
  const sync = options.loadSync ? await options.loadSync() : await import('#functions/sync/handler.ts');
  let syncing: Promise<unknown> = Promise.resolve();
  const scheduleEvent = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
  const syncTimer =
    syncIntervalMs > 0
      ? setInterval(() => {
          syncing = syncing
            .then(() => sync.handler(scheduleEvent as never, {} as never))
            .catch(() => undefined);
        }, syncIntervalMs)
      : undefined;

  api = (options.loadApi ? await options.loadApi() : await import('#functions/api/handler.ts'))
    .handler as unknown as HttpApiHandler;
  const { DynamoTokenStore } = await import('#shared/auth/tokens.ts');
  const tokens = new DynamoTokenStore(dynamo, resources.tableName);

  // never the queue URL's host: AWS-form URLs (the reply queue's) name real AWS
  const sqs = new SQSClient({
    region: emulators.region,
    endpoint: emulators.endpoints.sqs,
    useQueueUrlAsEndpoint: false,
  });
  const sendJobs = async (
    jobs: Array<JobInput | string>,
    { critical = 'jobs-queue' }: { critical?: 'lane' | 'jobs-queue' } = {},
  ) => {
    const inLane = (job: JobInput | string) =>
      critical === 'lane' && typeof job !== 'string' && job.priority === 'critical';
    const lanes: Array<[string, Array<JobInput | string>]> = [
      [resources.queueUrls.critical, jobs.filter(inLane)],
      [resources.queueUrls.jobs, jobs.filter((j) => !inLane(j))],
    ];
    for (const [queueUrl, lane] of lanes) await sendTo(queueUrl, lane);
  };
  const sendTo = async (queueUrl: string, jobs: Array<JobInput | string>) => {
    for (let i = 0; i < jobs.length; i += 10) {
      const chunk = jobs.slice(i, i + 10);
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((job, j) => ({
            Id: String(j),
            MessageBody: typeof job === 'string' ? job : JSON.stringify(job),
          })),
        }),
      );
      if (out.Failed?.length)
        throw new Error(`could not enqueue ${out.Failed.length} jobs: ${out.Failed[0]?.Message}`);
    }
  };
  const drain = async (queueUrl: string, waitSeconds = 0) => {
    const all: Message[] = [];
    for (;;) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: all.length === 0 ? waitSeconds : 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return all;
      all.push(...messages);
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  };

  return {
    emulators,
    resources,
    simulator,
    connectionId,
    apiUrl: gateway.url,
    createToken: async (name, role = 'admin') => (await tokens.create(name, role)).token,
    syncNow: () => sync.handler(scheduleEvent as never, {} as never),
    sqs,
    sendJobs,
    drain,
    stop: async () => {
      if (syncTimer) clearInterval(syncTimer);
      await syncing;
      await Promise.all(pollers.map((p) => p.stop()));
      await gateway.stop();
      sqs.destroy();
      await simulator.stop();
      await emulators.stop();
    },
  };
};
