/**
 * The AWS services the governor uses, as real wire-protocol emulators running in this process on
 * 127.0.0.1 with random free ports: DynamoDB (dynalite, behind a request counter), SQS (fauxqs), SES
 * (aws-ses-v2-local) and a small in-memory Secrets Manager (secrets-manager-emulator.ts).
 *
 * The SDK reads AWS_ENDPOINT_URL_<SERVICE> when a client is constructed: call `applyEnv()` before
 * importing modules that build clients at import time (shared/aws/clients.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { buildApp } from 'fauxqs';
import { createSecretsHandler } from '#local/secrets-manager-emulator.ts';

const require = createRequire(import.meta.url);

type DynaliteFactory = (options?: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  maxItemSizeKb?: number;
  path?: string;
}) => Server;
type SesLocalFactory = (config?: { host?: string; port?: number }) => Promise<Server>;

const LOCAL_ACCOUNT_ID = '000000000000';
const HOST = '127.0.0.1';

export interface EmulatorEndpoints {
  dynamodb: string;
  sqs: string;
  ses: string;
  secretsManager: string;
}

export interface DynamoCounters {
  /** DynamoDB requests that reached the emulator since start (or the last reset). */
  dynamodbRequests(): number;
  /** The same, per operation (`UpdateItem`, `GetItem`, ...). */
  byOperation(): Record<string, number>;
  reset(): void;
}

export interface Emulators {
  region: string;
  endpoints: EmulatorEndpoints;
  /** Region, dummy credentials and AWS_ENDPOINT_URL_* variables pointing at the emulators. */
  env: Record<string, string>;
  /** Writes `env` into process.env. */
  applyEnv(): void;
  counters: DynamoCounters;
  /** The emails aws-ses-v2-local captured (its `GET /store`). */
  sesStore(): Promise<unknown[]>;
  clearSes(): Promise<void>;
  stop(): Promise<void>;
}

/** A sending-enabled account, so SESv2 `GetAccount` answers against aws-ses-v2-local. */
const LOCAL_SES_ACCOUNT = {
  DedicatedIpAutoWarmupEnabled: false,
  Details: {
    AdditionalContactEmailAddresses: [],
    ContactLanguage: 'EN',
    MailType: 'TRANSACTIONAL',
    ReviewDetails: { CaseId: 'local', Status: 'GRANTED' },
    UseCaseDescription: 'autotask-governor local stack',
    WebsiteURL: 'http://localhost',
  },
  EnforcementStatus: 'HEALTHY',
  ProductionAccessEnabled: true,
  SendingEnabled: true,
  SendQuota: { Max24HourSend: 50_000, MaxSendRate: 14, SentLast24Hours: 0 },
  SuppressionAttributes: { SuppressedReasons: [] },
};

const listen = (server: Server, port = 0): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets of SDK clients would otherwise hold the server (and the process) open.
    server.closeAllConnections();
  });

// ---------------------------------------------------------------------------------------------------
// DynamoDB: dynalite, with its request listener wrapped to count requests as they arrive.

/**
 * DynamoDB returns the item that failed a write's condition when the write asks for it
 * (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`, part of the same request); dynalite 4 ignores
 * the parameter. Its validations learn the parameter here, and the one exported function its update,
 * put and delete actions check conditions with is wrapped to attach the item to the error, as
 * DynamoDB's answer carries it.
 */
const returnItemsOnConditionFailure = () => {
  type Check = (data: Record<string, unknown>, existing?: Record<string, unknown>) => unknown;
  const db = require('dynalite/db') as { checkConditional: Check; __wrapped?: boolean };
  if (db.__wrapped) return;
  // the validations drop parameters they do not know: teach them this one
  for (const action of ['updateItem', 'putItem', 'deleteItem']) {
    const { types } = require(`dynalite/validations/${action}`) as { types: Record<string, unknown> };
    types.ReturnValuesOnConditionCheckFailure = { type: 'String', enum: ['ALL_OLD', 'NONE'] };
  }
  const check = db.checkConditional;
  db.checkConditional = (data, existing) => {
    const err = check(data, existing) as { body?: Record<string, unknown> } | null | undefined;
    if (err?.body && existing && data.ReturnValuesOnConditionCheckFailure === 'ALL_OLD')
      err.body.Item = existing;
    return err;
  };
  db.__wrapped = true;
};

const startDynamo = async () => {
  returnItemsOnConditionFailure();
  const dynalite = require('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let total = 0;
  let perOperation: Record<string, number> = {};
  const [inner] = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (!inner) throw new Error('dynalite exposes no request listener');
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const target = req.headers['x-amz-target'];
    const operation = (Array.isArray(target) ? target[0] : target)?.split('.').pop() ?? 'Unknown';
    total += 1;
    perOperation[operation] = (perOperation[operation] ?? 0) + 1;
    inner(req, res);
  });
  const port = await listen(server);
  const counters: DynamoCounters = {
    dynamodbRequests: () => total,
    byOperation: () => ({ ...perOperation }),
    reset: () => {
      total = 0;
      perOperation = {};
    },
  };
  return { server, port, counters };
};

// ---------------------------------------------------------------------------------------------------
// SQS: fauxqs. `startFauxqs` always binds 0.0.0.0, so build its app and listen on 127.0.0.1 ourselves.

const startSqs = async (region: string) => {
  const app = buildApp({ logger: false, defaultRegion: region });
  const address = await app.listen({ port: 0, host: HOST });
  return { app, port: Number(new URL(address).port) };
};

// ---------------------------------------------------------------------------------------------------
// SES: aws-ses-v2-local (its store is module-global: shared by every emulator set in this process).

const startSes = async () => {
  process.env.AWS_SES_ACCOUNT ??= JSON.stringify(LOCAL_SES_ACCOUNT);
  const sesLocal = (require('aws-ses-v2-local') as { default: SesLocalFactory }).default;
  const server = await sesLocal({ host: HOST, port: 0 });
  return { server, port: (server.address() as AddressInfo).port };
};

// ---------------------------------------------------------------------------------------------------
// Secrets Manager: secrets-manager-emulator.ts.

const startSecretsManager = async (region: string) => {
  const server = createServer(createSecretsHandler(region, LOCAL_ACCOUNT_ID));
  const port = await listen(server);
  return { server, port };
};

// ---------------------------------------------------------------------------------------------------

export const startEmulators = async (opts: { region?: string } = {}): Promise<Emulators> => {
  const region = opts.region ?? 'us-east-1';
  const [dynamo, sqs, ses, secrets] = await Promise.all([
    startDynamo(),
    startSqs(region),
    startSes(),
    startSecretsManager(region),
  ]);
  const url = (port: number) => `http://${HOST}:${port}`;
  const endpoints: EmulatorEndpoints = {
    dynamodb: url(dynamo.port),
    sqs: url(sqs.port),
    ses: url(ses.port),
    secretsManager: url(secrets.port),
  };
  const env: Record<string, string> = {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SES: endpoints.ses,
    // The SDK derives the variable from the client's serviceId: SESv2Client reads ..._SESV2.
    AWS_ENDPOINT_URL_SESV2: endpoints.ses,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
    AWS_SES_ACCOUNT: process.env.AWS_SES_ACCOUNT ?? JSON.stringify(LOCAL_SES_ACCOUNT),
    AWS_EC2_METADATA_DISABLED: 'true',
  };

  const sesFetch = (path: string, init?: RequestInit) =>
    fetch(`${endpoints.ses}${path}`, { ...init, headers: { connection: 'close', ...init?.headers } });

  let stopped: Promise<void> | undefined;
  return {
    region,
    endpoints,
    env,
    applyEnv: () => {
      // A session token from the outer environment would be sent along with the dummy keys.
      delete process.env.AWS_SESSION_TOKEN;
      Object.assign(process.env, env);
    },
    counters: dynamo.counters,
    sesStore: async () => {
      const res = await sesFetch('/store');
      if (!res.ok) throw new Error(`SES emulator /store answered ${res.status}`);
      const store = (await res.json()) as { emails?: unknown[] };
      return store.emails ?? [];
    },
    clearSes: async () => {
      const res = await sesFetch('/clear-store', { method: 'POST' });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`SES emulator /clear-store answered ${res.status}`);
    },
    stop: () => {
      stopped ??= Promise.all([
        closeServer(dynamo.server),
        sqs.app.close(),
        closeServer(ses.server),
        closeServer(secrets.server),
      ]).then(() => undefined);
      return stopped;
    },
  };
};
