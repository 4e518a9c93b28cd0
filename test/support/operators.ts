import { type LocalGovernor, type LocalGovernorOptions, startLocalGovernor } from '#local/governor.ts';

/** A connection of `limit` requests per `windowSeconds` on a simulator with no latency. */
export const quietConnection = (limit: number, windowSeconds: number): LocalGovernorOptions => ({
  simulator: { limit, windowSeconds, latencyScale: 0 },
  connection: { limit, windowSeconds },
});

/** The local governor the operator tests drive, and an API token named `tokenName` for it. */
export const startOperatorGovernor = async (
  tokenName: string,
  options: LocalGovernorOptions = quietConnection(6000, 60),
): Promise<{ gov: LocalGovernor; token: string }> => {
  const gov = await startLocalGovernor(options);
  return { gov, token: await gov.createToken(tokenName) };
};

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience over arbitrary JSON answers
  json: any;
}

/** One HTTP request to the local operators' API (through the API Gateway stand-in). */
export const call = async (
  gov: LocalGovernor,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> => {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  } else if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${gov.apiUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
};

export interface CapturedMail {
  subject: string;
  to: string[];
  text: string;
  html: string;
  at: number;
}

/** The e-mails the SES emulator captured, oldest first. */
export const mails = async (gov: LocalGovernor): Promise<CapturedMail[]> =>
  (
    (await gov.emulators.sesStore()) as Array<{
      subject: string;
      destination: { to: string[] };
      body: { text?: string; html?: string };
      at: number;
    }>
  ).map((m) => ({
    subject: m.subject,
    to: m.destination.to,
    text: m.body.text ?? '',
    html: m.body.html ?? '',
    at: m.at,
  }));

export const waitFor = async <T>(
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
};

export const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
