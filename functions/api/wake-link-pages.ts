import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { escapeHtml, isoUtc } from '#shared/alerts/templates.ts';
import type { WakeLinkClaims } from '#shared/auth/wake-links.ts';
import type { Connection } from '#shared/connections/model.ts';
import type { ConnectionState } from '#shared/connections/state.ts';
import { html, type Result } from './http.ts';
import type { ApiDeps } from './ports.ts';

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>` +
  `<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}` +
  `button{font-size:1.1rem;padding:.6rem 1.4rem;cursor:pointer}</style></head>` +
  `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

const refused = (status: number, message: string) =>
  html(status, page('This wake-up link cannot be used', `<p>${escapeHtml(message)}</p>`));

const utc = (ms: number) => `${isoUtc(ms)} (UTC)`;

const used = (at: number) =>
  refused(410, `This wake-up link was already used${at > 0 ? `, at ${utc(at)}` : ''}. Each link works once.`);

interface Req {
  event: APIGatewayProxyEventV2;
  params: string[];
}

/**
 * A link wakes the sleep it was sent for (its `episode`, the state's `since` then) and nothing else:
 * not a later sleep, and never a sleep by hand, which only an operator ends. Undefined: it may wake.
 */
const notNow = (id: string, state: ConnectionState, claims: WakeLinkClaims): Result | undefined => {
  if (state.state === 'awake')
    return html(
      200,
      page(
        `${id} is already awake`,
        `<p>No wake-up is needed: ${escapeHtml(id)} has been awake since ${escapeHtml(utc(state.since))}.</p>`,
      ),
    );
  const api = `POST /connections/${id}/wake in the operators' API`;
  if (state.manualSleep)
    return refused(
      409,
      `${id} was put to sleep by hand: only an operator wakes it, with ${api}. This link cannot wake it.`,
    );
  if (state.since !== claims.episode)
    return refused(
      409,
      `This link was sent for an earlier sleep of ${id} (${utc(claims.episode)}); it has been asleep ` +
        `again since ${utc(state.since)}. Use the link of the newest e-mail, or ${api}.`,
    );
  return undefined;
};

/** Everything that refuses a link, read without changing anything (GET must stay side-effect free). */
const inspect = async (
  token: string,
  deps: ApiDeps,
): Promise<{ done: Result } | { claims: WakeLinkClaims; connection: Connection }> => {
  const check = await deps.wakeLinks.verify(token);
  if (!check.ok) return { done: refused(403, check.message) };
  const { claims } = check;
  const usedAt = await deps.wakeLinks.usedAt(claims);
  if (usedAt !== undefined) return { done: used(usedAt) };
  const connection = await deps.connections.get(claims.connectionId);
  if (!connection) return { done: refused(404, `The connection ${claims.connectionId} no longer exists.`) };
  const refusal = notNow(connection.connectionId, await deps.states.status(connection.connectionId), claims);
  return refusal ? { done: refusal } : { claims, connection };
};

/**
 * GET shows a confirmation page and changes nothing: mail scanners that open links cannot wake a
 * connection. A used, stale or needless link says so here already. The wake happens on the page's
 * POST, once: the link's nonce is consumed first.
 */
export const wakeLinkPage = async ({ params }: Req, deps: ApiDeps): Promise<Result> => {
  const found = await inspect(params[0] as string, deps);
  if ('done' in found) return found.done;
  const { claims } = found;
  const id = escapeHtml(claims.connectionId);
  return html(
    200,
    page(
      `Wake up ${claims.connectionId}?`,
      `<p>autotask-governor put the Autotask connection <strong>${id}</strong> to sleep at ` +
        `${escapeHtml(utc(claims.episode))}. Waking it lets waiting jobs run again. If the database is ` +
        `still too busy it goes back to sleep at once.</p>` +
        `<form method="post"><button type="submit">Wake ${id} now</button></form>` +
        `<p><small>This link works once and expires ${escapeHtml(new Date(claims.expiresAt).toISOString())}.</small></p>`,
    ),
  );
};

export const wakeLinkConfirm = async ({ params }: Req, deps: ApiDeps): Promise<Result> => {
  const found = await inspect(params[0] as string, deps);
  if ('done' in found) return found.done;
  const { claims, connection } = found;
  if (!(await deps.wakeLinks.consume(claims))) return used((await deps.wakeLinks.usedAt(claims)) ?? 0);
  // the state machine checks the episode again under its version check: a sleep that began since
  // the check above is not woken either
  const outcome = await deps.states.wake(connection, 'wake link (e-mail)', undefined, claims.episode);
  if (!outcome.changed)
    return (
      notNow(connection.connectionId, outcome.state, claims) ??
      refused(409, `${connection.connectionId} did not change: ${outcome.state.reason}`)
    );
  const asleep = outcome.state.state === 'asleep';
  return html(
    asleep ? 409 : 200,
    page(
      asleep ? `${connection.connectionId} is asleep again` : `${connection.connectionId} is awake`,
      `<p>${escapeHtml(asleep ? outcome.state.reason : 'Waiting jobs resume within 30 seconds.')}</p>`,
    ),
  );
};
