/**
 * Autotask REST over HTTP: zone discovery and one request at a time. No retries and no budget here:
 * the worker reserves budget before every request and decides what an error means for the job.
 * Every failure is an `AutotaskError` whose `kind` the worker acts on; no message carries the secret.
 */
import type {
  AutotaskApi,
  AutotaskCall,
  AutotaskCredentials,
  AutotaskReply,
  HttpMethod,
  SendOptions,
} from '#shared/autotask/types.ts';
import { ZONE_URL_FORM, zonePolicy } from '#shared/autotask/zones.ts';
import { AutotaskError, type AutotaskErrorKind } from '#shared/errors.ts';

export interface AutotaskHttpClientOptions {
  /** Where zone look-ups go, e.g. `https://webservices.autotask.net/atservicesrest`. */
  zoneDiscoveryUrl: string;
  fetch?: typeof fetch;
  /** Per request (and per zone look-up) unless `SendOptions.timeoutMs` says otherwise. Default 20 s. */
  defaultTimeoutMs?: number;
}

const API_VERSION = 'v1.0';
const WITH_BODY: ReadonlySet<HttpMethod> = new Set(['POST', 'PATCH', 'PUT']);
/** What `fetch` accepts in a header value (a ByteString without CR, LF or NUL). */
const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]*$/;
const MAX_DETAIL = 300;

interface Answer {
  status: number;
  statusText: string;
  text: string;
  /** The parsed JSON, or undefined when the body is empty or not JSON. */
  json: unknown;
  errors: string[];
}

export class AutotaskHttpClient implements AutotaskApi {
  private readonly zoneDiscoveryUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly defaultTimeoutMs: number;
  /** The credentials go to Autotask's zones only (shared/autotask/zones.ts), whatever a caller passes. */
  readonly allowsZone: (zoneUrl: string) => boolean;

  constructor(options: AutotaskHttpClientOptions) {
    this.zoneDiscoveryUrl = options.zoneDiscoveryUrl.replace(/\/+$/, '');
    this.allowsZone = zonePolicy(this.zoneDiscoveryUrl);
    const impl = options.fetch ?? globalThis.fetch;
    this.fetchImpl = (input, init) => impl(input, init);
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 20_000;
  }

  async discoverZone(username: string): Promise<string> {
    const url = `${this.zoneDiscoveryUrl}/${API_VERSION}/zoneInformation?user=${encodeURIComponent(username)}`;
    const what = `zone discovery for ${username}`;
    const answer = await this.exchange(
      url,
      { method: 'GET', headers: { Accept: 'application/json' } },
      this.defaultTimeoutMs,
      what,
      [],
    );
    const detail = describe(answer);
    if (answer.status >= 200 && answer.status < 300 && answer.errors.length === 0) {
      const body = answer.json as { url?: unknown; Url?: unknown } | undefined;
      const zone = body?.url ?? body?.Url;
      if (typeof zone === 'string' && isHttpUrl(zone)) {
        const zoneUrl = zone.endsWith('/') ? zone : `${zone}/`;
        if (this.allowsZone(zoneUrl)) return zoneUrl;
        throw new AutotaskError(
          'client',
          `${what} answered a zone that is not an Autotask zone (${ZONE_URL_FORM}): ${zoneUrl.slice(0, MAX_DETAIL)}`,
          answer.status,
        );
      }
      throw new AutotaskError(
        'server',
        `${what} answered ${answer.status} without a usable url: ${detail}`,
        answer.status,
        [],
        answer.json,
      );
    }
    const fail = (kind: AutotaskErrorKind) =>
      new AutotaskError(
        kind,
        `zone discovery failed for ${username}: ${detail}`,
        answer.status,
        answer.errors,
        answer.json ?? answer.text,
      );
    // Autotask answers an unknown user with 500 {"errors":["Zone information could not be determined"]}.
    if (answer.errors.length > 0 && (answer.status === 500 || answer.status < 300)) throw fail('client');
    if (answer.status === 429) throw fail('throttled');
    throw fail(answer.status >= 500 ? 'server' : 'client');
  }

  async send(
    zoneUrl: string,
    credentials: AutotaskCredentials,
    call: AutotaskCall,
    options: SendOptions = {},
  ): Promise<AutotaskReply> {
    const secrets = [credentials.secret];
    const what = `${call.method} ${call.path}`;
    const base = zoneBase(zoneUrl);
    if (!base || !this.allowsZone(zoneUrl))
      throw new AutotaskError(
        'client',
        `Autotask ${what}: the zone url "${zoneUrl.slice(0, MAX_DETAIL)}" is not an Autotask zone (${ZONE_URL_FORM}); nothing was sent`,
      );
    if (!call.path.startsWith('/') || /[?#]/.test(call.path)) {
      throw new AutotaskError(
        'client',
        `Autotask ${what}: the path must start with "/" and carry no query string`,
      );
    }
    const query = new URLSearchParams(call.query ?? {}).toString();
    const url = new URL(`${base.href}${call.path.slice(1)}${query ? `?${query}` : ''}`);
    if (!isUnder(url, base))
      throw new AutotaskError('client', `Autotask ${what}: the path leaves ${base.href}`);

    const headers: Record<string, string> = {
      ApiIntegrationCode: credentials.integrationCode,
      UserName: credentials.username,
      Secret: credentials.secret,
      'Content-Type': 'application/json',
      Accept: 'application/json',
    };
    if (credentials.impersonationResourceId != null) {
      headers['ImpersonationResourceId'] = String(credentials.impersonationResourceId);
    }
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_SAFE.test(value)) {
        throw new AutotaskError(
          'client',
          `Autotask ${what}: the ${name} header contains characters HTTP cannot carry`,
        );
      }
    }
    const init: RequestInit = { method: call.method, headers, redirect: 'manual' };
    if (call.body !== undefined && WITH_BODY.has(call.method)) init.body = JSON.stringify(call.body);

    const answer = await this.exchange(
      url.href,
      init,
      options.timeoutMs ?? this.defaultTimeoutMs,
      `Autotask ${what}`,
      secrets,
    );
    const ok = answer.status >= 200 && answer.status < 300;
    if (ok && answer.errors.length === 0) {
      const body = answer.json !== undefined ? answer.json : answer.text === '' ? null : answer.text;
      return { status: answer.status, body, nextPage: nextPageOf(answer.json, call, base, secrets) };
    }
    const kind = classify(answer);
    const message = redact(`Autotask ${answer.status} ${what}: ${describe(answer)}`, secrets);
    throw new AutotaskError(
      kind,
      message,
      answer.status,
      answer.errors.map((e) => redact(e, secrets)),
      answer.json !== undefined ? answer.json : answer.text,
    );
  }

  /** One HTTP exchange including reading the body; transport failures become `timeout`/`network`. */
  private async exchange(
    url: string,
    init: RequestInit,
    timeoutMs: number,
    what: string,
    secrets: string[],
  ): Promise<Answer> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const response = await this.fetchImpl(url, { ...init, signal });
      const text = await response.text();
      const json = parseJson(text);
      return { status: response.status, statusText: response.statusText, text, json, errors: errorsOf(json) };
    } catch (err) {
      if (signal.aborted)
        throw new AutotaskError('timeout', `${what}: no complete answer within ${timeoutMs} ms`);
      throw new AutotaskError('network', redact(`${what}: network error (${transportDetail(err)})`, secrets));
    }
  }
}

/**
 * Thread-limit first (its text also says "threshold"), then the hourly cap, then by status.
 * Autotask reports a bad integration code as 500; retrying will not fix configuration.
 */
const classify = (answer: Answer): AutotaskErrorKind => {
  const text = (answer.errors.length ? answer.errors.join('\n') : answer.text).toLowerCase();
  if (text.includes('itgenatr005') || (text.includes('thread') && text.includes('threshold')))
    return 'thread-limit';
  if (answer.status === 429 || text.includes('threshold')) return 'throttled';
  if (answer.status >= 500) return text.includes('integrationcode is invalid') ? 'client' : 'server';
  return 'client';
};

/** The call that fetches the next page, refusing any URL outside the zone's `.../v1.0/`. */
const nextPageOf = (json: unknown, call: AutotaskCall, base: URL, secrets: string[]): AutotaskCall | null => {
  const next = (json as { pageDetails?: { nextPageUrl?: unknown } } | undefined)?.pageDetails?.nextPageUrl;
  if (typeof next !== 'string' || next === '') return null;
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    throw new AutotaskError(
      'client',
      redact(`nextPageUrl is not a URL: ${next.slice(0, MAX_DETAIL)}`, secrets),
    );
  }
  if (!isUnder(url, base)) {
    throw new AutotaskError(
      'client',
      redact(`nextPageUrl points outside the zone ${base.href}: ${url.origin}${url.pathname}`, secrets),
    );
  }
  const path = `/${url.pathname.slice(base.pathname.length)}`;
  const query = Object.fromEntries(url.searchParams);
  return {
    method: call.method,
    path,
    ...(Object.keys(query).length ? { query } : {}),
    ...(call.body !== undefined && WITH_BODY.has(call.method) ? { body: call.body } : {}),
  };
};

/** Same origin (scheme, host, port) and a path below the base path, compared case-insensitively. */
const isUnder = (url: URL, base: URL): boolean =>
  url.origin === base.origin &&
  url.username === '' &&
  url.password === '' &&
  url.pathname.toLowerCase().startsWith(base.pathname.toLowerCase()) &&
  url.pathname.length > base.pathname.length;

/** `https://host/atservicesrest/` -> `https://host/atservicesrest/v1.0/`, or null when it is no http(s) URL. */
const zoneBase = (zoneUrl: string): URL | null => {
  const href = `${zoneUrl.endsWith('/') ? zoneUrl : `${zoneUrl}/`}${API_VERSION}/`;
  if (!isHttpUrl(href)) return null;
  const base = new URL(href);
  return base.search || base.hash ? null : base;
};

const isHttpUrl = (value: string): boolean => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
};

const parseJson = (text: string): unknown => {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** `{"errors":[...]}` as strings; objects in the array keep their `message` or their JSON. */
const errorsOf = (json: unknown): string[] => {
  const errors = (json as { errors?: unknown } | null | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.map((e) => {
    if (typeof e === 'string') return e;
    const message = (e as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : JSON.stringify(e);
  });
};

/** The first error (Autotask's own words) or the start of the body; never the whole of a huge body. */
const describe = (answer: Answer): string => {
  const [first, ...more] = answer.errors;
  if (first !== undefined)
    return `${first.slice(0, MAX_DETAIL)}${more.length ? ` (+${more.length} more)` : ''}`;
  const text = answer.text.trim().replace(/\s+/g, ' ');
  if (text) return text.slice(0, MAX_DETAIL);
  return answer.statusText || `HTTP ${answer.status}`;
};

const transportDetail = (err: unknown): string => {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const parts = [cause?.code, cause?.message ?? (err as Error | undefined)?.message].filter(
    (p) => typeof p === 'string' && p,
  );
  return parts.length ? parts.join(': ') : String(err);
};

const redact = (text: string, secrets: string[]): string => {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
};
