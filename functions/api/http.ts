import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ValidationError } from '#shared/errors.ts';

export type Result = APIGatewayProxyStructuredResultV2;

/** An answer other than 2xx that the caller caused; mapped to its status with a JSON error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Result => ({
  statusCode: status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS, ...headers },
  body: JSON.stringify(body),
});

export const html = (status: number, page: string): Result => ({
  statusCode: status,
  headers: {
    'content-type': 'text/html; charset=utf-8',
    ...SECURITY_HEADERS,
    // frame-ancestors: no other site may frame the wake-link page and trick a click on its button
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  },
  body: page,
});

/** The usage report as a CSV download (JSON API and console alike): never cached, never sniffed. */
export const usageCsv = (connectionId: string, from: number, csv: string): Result => ({
  statusCode: 200,
  headers: {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${connectionId}-usage-${new Date(from).toISOString().slice(0, 10)}.csv"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  },
  body: csv,
});

export const errorBody = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  json(status, { error: { code, message } }, headers);

/** Named errors to HTTP, in one place: the caller's mistakes are 4xx with a message, the rest 500. */
export const toResponse = (err: unknown): Result | undefined => {
  if (err instanceof HttpError) return errorBody(err.status, err.code, err.message, err.headers);
  if (err instanceof ValidationError) return errorBody(400, err.reason, err.message);
  return undefined;
};

export const MAX_BODY_BYTES = 16 * 1024;
export const MAX_JOBS_BODY_BYTES = 1024 * 1024;

/** The request body as JSON: undefined when empty; 413 over `maxBytes`; 415/400 when not JSON. */
export const readJson = (event: APIGatewayProxyEventV2, maxBytes = MAX_BODY_BYTES): unknown => {
  if (event.body === undefined || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(raw) > maxBytes)
    throw new HttpError(413, 'body-too-large', `the request body exceeds ${maxBytes} bytes`);
  const type = event.headers?.['content-type'] ?? '';
  if (type && !/^application\/(.+\+)?json\b/i.test(type))
    throw new HttpError(415, 'unsupported-media-type', 'send the body as application/json');
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new HttpError(400, 'invalid-json', `the body is not valid JSON: ${(err as Error).message}`);
  }
};

/** Line breaks and other control characters: operator text must not add lines to e-mails or logs. */
export const hasControlCharacters = (text: string): boolean => /[\p{Cc}\p{Zl}\p{Zp}]/u.test(text);

/** `{ reason?: string }` bodies of wake and sleep. */
export const readReason = (event: APIGatewayProxyEventV2): string | undefined => {
  const body = readJson(event);
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'invalid-body', 'the body must be a JSON object like {"reason": "..."}');
  const { reason, ...rest } = body as { reason?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new HttpError(
      400,
      'invalid-body',
      `unknown field(s): ${unknown.join(', ')}; only "reason" is accepted`,
    );
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string' || reason.length > 500)
    throw new HttpError(400, 'invalid-body', '"reason" must be a string of at most 500 characters');
  if (hasControlCharacters(reason))
    throw new HttpError(
      400,
      'invalid-body',
      '"reason" must be one line: no line breaks, tabs or other control characters',
    );
  return reason;
};

export const CONNECTION_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export const connectionIdFrom = (raw: string): string => {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'invalid-connection-id', 'the connection id in the path is not valid');
  }
  if (!CONNECTION_ID.test(id))
    throw new HttpError(
      400,
      'invalid-connection-id',
      'a connection id is 1-64 characters of A-Z a-z 0-9 _ . -',
    );
  return id;
};
