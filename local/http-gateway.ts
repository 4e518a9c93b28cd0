/**
 * The local stand-in for an API Gateway HTTP API with a `$default` route and a Lambda proxy
 * integration (payload format 2.0): each HTTP request becomes a v2 event, and the handler's result is
 * mapped back the way API Gateway maps it (a result without `statusCode` is a 200 JSON response).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createLambdaContext } from '#local/sqs-poller.ts';

const LOCAL_ACCOUNT_ID = '000000000000';
const HOST = '127.0.0.1';

export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2 | string | object>;

export interface HttpGatewayOptions {
  handler: HttpApiHandler;
  /** Default: a random free port on 127.0.0.1. */
  port?: number;
  /** Larger request bodies get 413 without invoking the handler (default 1 MB). */
  maxBodyBytes?: number;
  functionName?: string;
  region?: string;
}

export interface HttpGateway {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  stop(): Promise<void>;
}

/** Content types API Gateway passes to Lambda as text; every other body arrives base64-encoded. */
const TEXT_CONTENT_TYPE =
  /^(text\/|application\/(json|javascript|xml|x-www-form-urlencoded|x-javascript|ecmascript|graphql)\b|application\/[^;]*\+(json|xml)\b)/i;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');
/** API Gateway's request time format: `12/Mar/2020:19:03:58 +0000`. */
const formatTime = (d: Date) =>
  `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
  `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;

const randomId = (length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789') =>
  Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join('');

const jsonResponse = (res: ServerResponse, status: number, body: object, requestId?: string) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(requestId ? { 'apigw-requestid': requestId } : {}),
  });
  res.end(text);
};

const toEvent = (
  req: IncomingMessage,
  body: Buffer,
  apiId: string,
  requestId: string,
  port: number,
): APIGatewayProxyEventV2 => {
  const now = new Date();
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const rawQueryString = q === -1 ? '' : rawUrl.slice(q + 1);

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${sourceIp}`
    : sourceIp;
  headers['x-forwarded-port'] ??= String(port);
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-amzn-trace-id'] ??=
    `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString) {
    queryStringParameters = {};
    for (const [key, value] of new URLSearchParams(rawQueryString)) {
      const previous = queryStringParameters[key];
      queryStringParameters[key] = previous === undefined ? value : `${previous},${value}`;
    }
  }

  let decodedPath = rawPath;
  try {
    decodedPath = decodeURIComponent(rawPath);
  } catch {
    // keep the raw path
  }
  const domainName = headers.host ?? `${HOST}:${port}`;
  const contentType = headers['content-type'] ?? '';
  const isText = TEXT_CONTENT_TYPE.test(contentType);

  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId,
      domainName,
      domainPrefix: domainName.split('.')[0]?.split(':')[0] ?? apiId,
      http: {
        method: req.method ?? 'GET',
        path: decodedPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: formatTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
};

const isStructured = (result: unknown): result is APIGatewayProxyStructuredResultV2 =>
  typeof result === 'object' && result !== null && !Array.isArray(result) && 'statusCode' in result;

const writeResult = (res: ServerResponse, result: unknown, requestId: string) => {
  if (!isStructured(result)) {
    // Payload format 2.0: valid JSON without statusCode is a 200 application/json response.
    const text = typeof result === 'string' ? result : (JSON.stringify(result) ?? '');
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'apigw-requestid': requestId,
    });
    res.end(text);
    return;
  }
  const statusCode = Number(result.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    jsonResponse(res, 500, { message: 'Internal Server Error' }, requestId);
    return;
  }
  const outHeaders: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    outHeaders[name.toLowerCase()] = String(value);
  }
  const multi = (result as { multiValueHeaders?: Record<string, Array<string | number | boolean>> })
    .multiValueHeaders;
  for (const [name, values] of Object.entries(multi ?? {})) {
    const key = name.toLowerCase();
    const existing = outHeaders[key];
    const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    outHeaders[key] = [...list, ...values.map(String)];
  }
  if (result.cookies?.length) {
    const existing = outHeaders['set-cookie'];
    const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    outHeaders['set-cookie'] = [...list, ...result.cookies];
  }
  const body =
    result.body === undefined
      ? Buffer.alloc(0)
      : result.isBase64Encoded
        ? Buffer.from(result.body, 'base64')
        : Buffer.from(String(result.body), 'utf8');
  outHeaders['content-length'] = String(body.length);
  outHeaders['apigw-requestid'] = requestId;
  res.writeHead(statusCode, outHeaders);
  res.end(body);
};

export const startHttpGateway = async (options: HttpGatewayOptions): Promise<HttpGateway> => {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const functionName = options.functionName ?? 'local-api';
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const apiId = randomId(10);
  let port = 0;

  const server = createServer((req, res) => {
    const requestId = randomId(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > maxBodyBytes;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) tooLarge = true;
      // Keep draining an oversized body (so the client reads the 413) but stop buffering it.
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooLarge) {
        jsonResponse(res, 413, { message: 'Request Entity Too Large' }, requestId);
        return;
      }
      const event = toEvent(req, Buffer.concat(chunks), apiId, requestId, port);
      const context = createLambdaContext({ functionName, region });
      Promise.resolve()
        .then(() => options.handler(event, context))
        .then(
          (result) => writeResult(res, result, requestId),
          () => jsonResponse(res, 500, { message: 'Internal Server Error' }, requestId),
        )
        .catch(() => {
          if (!res.headersSent) jsonResponse(res, 500, { message: 'Internal Server Error' }, requestId);
          else res.destroy();
        });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://${HOST}:${port}`,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
};
