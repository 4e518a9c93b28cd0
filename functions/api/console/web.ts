import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpError, type Result } from '../http.ts';
import type { SafeHtml } from './html.ts';

/**
 * The console's HTTP conventions (docs/console.md): how the origin is known, the session cookie's
 * attributes, the same-origin check of state-changing requests, and the headers of every page.
 */
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;

export interface Origin {
  /** `https://abc.execute-api...` or `http://127.0.0.1:1234` */
  origin: string;
  https: boolean;
  /** Plain http on this machine (`npm run local`): the only case without `Secure` and `__Host-`. */
  loopbackHttp: boolean;
}

/** API Gateway always sets x-forwarded-proto; the local gateway says `http`. */
export const originOf = (event: APIGatewayProxyEventV2): Origin => {
  const host = event.headers?.host ?? event.requestContext.domainName;
  const https = (event.headers?.['x-forwarded-proto'] ?? 'https').toLowerCase() !== 'http';
  return {
    origin: `${https ? 'https' : 'http'}://${host}`,
    https,
    loopbackHttp: !https && LOOPBACK_HOST.test(host),
  };
};

const COOKIE = 'agov_session';
export const cookieName = (o: Origin) => (o.loopbackHttp ? COOKIE : `__Host-${COOKIE}`);

export const sessionCookie = (o: Origin, value: string, maxAgeSeconds: number): string =>
  `${cookieName(o)}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}` +
  (o.loopbackHttp ? '' : '; Secure');

export const readSessionCookie = (event: APIGatewayProxyEventV2): string | undefined => {
  const name = `${cookieName(originOf(event))}=`;
  return (event.cookies ?? []).find((c) => c.startsWith(name))?.slice(name.length);
};

/**
 * Cross-site request forgery: besides SameSite=Strict, a state-changing request must come from a
 * page of this origin. Browsers send `Origin` on every POST (and `Sec-Fetch-Site`); a request that
 * carries neither, or names another site, is refused.
 */
export const assertSameOrigin = (event: APIGatewayProxyEventV2): void => {
  const { origin } = originOf(event);
  const sent = event.headers?.origin;
  const site = event.headers?.['sec-fetch-site'];
  if (sent !== undefined && sent !== 'null') {
    if (sent.toLowerCase() === origin.toLowerCase()) return;
  } else if (site === 'same-origin') return;
  throw new HttpError(
    403,
    'cross-site-request',
    'this request did not come from a page of the console (Origin / Sec-Fetch-Site); nothing was changed',
  );
};

/** Headers of every console page: no inline script, no framing, no sniffing, no referrer leaks. */
export const pageHeaders = (o: Origin): Record<string, string> => ({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  ...(o.https ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
});

export const page = (
  event: APIGatewayProxyEventV2,
  status: number,
  body: SafeHtml,
  cookies?: string[],
): Result => ({
  statusCode: status,
  headers: pageHeaders(originOf(event)),
  body: `<!doctype html>${body.text}`,
  ...(cookies ? { cookies } : {}),
});

export const redirect = (event: APIGatewayProxyEventV2, location: string, cookies?: string[]): Result => ({
  statusCode: 303,
  headers: { ...pageHeaders(originOf(event)), location },
  body: '',
  ...(cookies ? { cookies } : {}),
});

/** An `application/x-www-form-urlencoded` body (the console's forms), at most 16 KB. */
export const readForm = (event: APIGatewayProxyEventV2): URLSearchParams => {
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  if (Buffer.byteLength(raw) > 16 * 1024)
    throw new HttpError(413, 'body-too-large', 'the form exceeds 16384 bytes');
  const type = event.headers?.['content-type'] ?? '';
  if (raw && !/^application\/x-www-form-urlencoded\b/i.test(type))
    throw new HttpError(415, 'unsupported-media-type', 'send the form as application/x-www-form-urlencoded');
  return new URLSearchParams(raw);
};
