import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { escapeHtml } from '#shared/alerts/templates.ts';
import { html, type Result } from './http.ts';
import type { ApiDeps } from './routes.ts';

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>` +
  `<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}` +
  `button{font-size:1.1rem;padding:.6rem 1.4rem;cursor:pointer}</style></head>` +
  `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

const refused = (status: number, message: string) =>
  html(status, page('This wake-up link cannot be used', `<p>${escapeHtml(message)}</p>`));

interface Req {
  event: APIGatewayProxyEventV2;
  params: string[];
}

/**
 * GET shows a confirmation page and changes nothing: mail scanners that open links cannot wake a
 * connection. The wake happens on the page's POST, once: the link's nonce is consumed first.
 */
export const wakeLinkPage = async ({ params }: Req, deps: ApiDeps): Promise<Result> => {
  const check = await deps.wakeLinks.verify(params[0] as string);
  if (!check.ok) return refused(403, check.message);
  const id = escapeHtml(check.claims.connectionId);
  return html(
    200,
    page(
      `Wake up ${check.claims.connectionId}?`,
      `<p>autotask-governor put the Autotask connection <strong>${id}</strong> to sleep. Waking it lets ` +
        `waiting jobs run again. If the database is still too busy it goes back to sleep at once.</p>` +
        `<form method="post"><button type="submit">Wake ${id} now</button></form>` +
        `<p><small>This link works once and expires ${escapeHtml(new Date(check.claims.expiresAt).toISOString())}.</small></p>`,
    ),
  );
};

export const wakeLinkConfirm = async ({ params }: Req, deps: ApiDeps): Promise<Result> => {
  const check = await deps.wakeLinks.verify(params[0] as string);
  if (!check.ok) return refused(403, check.message);
  if (!(await deps.wakeLinks.consume(check.claims)))
    return refused(410, 'This wake-up link was already used. Each link works once.');
  const connection = await deps.connections.get(check.claims.connectionId);
  if (!connection) return refused(404, `The connection ${check.claims.connectionId} no longer exists.`);
  const outcome = await deps.states.wake(connection, 'wake link (e-mail)');
  const asleep = outcome.state.state === 'asleep';
  return html(
    asleep ? 409 : 200,
    page(
      asleep ? `${connection.connectionId} is asleep again` : `${connection.connectionId} is awake`,
      `<p>${escapeHtml(asleep ? outcome.state.reason : 'Waiting jobs resume within 30 seconds.')}</p>`,
    ),
  );
};
