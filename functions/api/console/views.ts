import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { allows } from '#shared/auth/roles.ts';
import type { Session } from '#shared/auth/sessions.ts';
import type { HttpError, Result } from '../http.ts';
import { ASSET_PATHS } from './assets.ts';
import { gauge, hourlyChart, minuteChart } from './charts.ts';
import type { ConnectionView, HourlyReport } from './data.ts';
import { html, type SafeHtml } from './html.ts';
import { type SettingsForm, settingsFields } from './settings-form.ts';
import { fullTime, shortTime, wallTime } from './time-zone.ts';
import { page } from './web.ts';

/**
 * The console's pages, rendered on the server from plain data. Every value goes through the `html`
 * tag, which escapes it. Regions marked `data-live` are the ones the page's script refreshes.
 */
const pct = (fraction: number) => `${Math.round(fraction * 1000) / 10} %`;
const count = (n: number) => n.toLocaleString('en-US');
const connectionHref = (id: string, tz?: string) =>
  `/console/connections/${encodeURIComponent(id)}${tz && tz !== 'UTC' ? `?tz=${encodeURIComponent(tz)}` : ''}`;

export interface Frame {
  session?: Session;
  /** Every connection: the banner reads them. */
  views?: readonly ConnectionView[];
  refreshSeconds?: number;
  tz?: string;
}

const layout = (title: string, frame: Frame, main: SafeHtml): SafeHtml => html`<html lang="en"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>${title} · autotask-governor</title>
<link rel="stylesheet" href="${ASSET_PATHS.css}"><script src="${ASSET_PATHS.js}" defer></script>
</head><body data-refresh-seconds="${frame.refreshSeconds ?? 15}">
<header><a class="brand" href="/console">autotask-governor</a>
${
  frame.session &&
  html`<nav><a href="/console">Overview</a>${(frame.views ?? []).map(
    (v) =>
      html` <a href="${connectionHref(v.connection.connectionId, frame.tz)}">${v.connection.connectionId}</a>`,
  )}</nav>
<form method="post" action="/console/sign-out" class="sign-out"><span class="who">${frame.session.name} (${frame.session.role})</span> <button type="submit">Sign out</button></form>`
}
</header>
${frame.session && banner(frame.views ?? [], frame.tz ?? 'UTC')}
<main>${main}</main>
</body></html>`;

/** While a connection is asleep or past its warn threshold, every page says so in plain words. */
export const banner = (views: readonly ConnectionView[], tz: string): SafeHtml => {
  const lines = views.flatMap((v) => {
    const { connection: c, status: s } = v;
    const now = html`usage now ${count(s.usage.total)} of ${count(c.limit)} (${pct(s.usage.total / c.limit)})`;
    const link = html`<a href="${connectionHref(c.connectionId, tz)}">${c.connectionId}</a>`;
    if (s.state === 'asleep') {
      const paused = c.criticalWhileAsleep
        ? 'bulk and normal jobs are paused (critical jobs still run)'
        : 'every job is paused';
      const resume = s.manualSleep
        ? 'it was put to sleep by hand: it wakes only when an operator wakes it'
        : s.nextResumeAt
          ? `expected to resume at ${fullTime(Date.parse(s.nextResumeAt), tz)} (${tz})`
          : 'it resumes once usage falls below the resume threshold';
      return [html`<p>${link} is <strong>asleep</strong>: ${paused}; ${now}; ${resume}.</p>`];
    }
    if (v.pastWarn)
      return [
        html`<p>${link} is past its warn threshold (${pct(c.thresholds.warn)}): ${now}; it sleeps at ${pct(c.thresholds.sleep)}.</p>`,
      ];
    return [];
  });
  return html`<div id="banner" data-live class="${lines.length ? 'banner' : 'banner empty'}" role="${lines.length ? 'alert' : 'status'}">${lines}</div>`;
};

export const signInPage = (opts: { next?: string; error?: string }): SafeHtml =>
  layout(
    'Sign in',
    {},
    html`<h1>Sign in</h1>
<p>Paste an API token (<code>npm run token -- create --name you --role operator</code>, or ask your AWS administrator). It is checked once; the console then keeps a session cookie for 8 hours.</p>
<form method="post" action="/console/sign-in" class="card">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required spellcheck="false">
${opts.error && html`<p class="field-error" id="token-error">${opts.error}</p>`}
<input type="hidden" name="next" value="${opts.next ?? '/console'}">
<button type="submit">Sign in</button>
</form>`,
  );

export const consoleError = (event: APIGatewayProxyEventV2, err: HttpError): Result => {
  const answer = page(
    event,
    err.status,
    layout(
      `Error ${err.status}`,
      {},
      html`<h1>${err.status === 403 ? 'Not allowed' : 'That did not work'}</h1><p class="notice error" data-code="${err.code}">${err.message}</p><p><a href="/console">Back to the console</a></p>`,
    ),
  );
  // e.g. Allow on a 405
  return { ...answer, headers: { ...answer.headers, ...err.headers } };
};

const stateBadge = (v: ConnectionView) =>
  html`<span class="state state-${v.label.replaceAll(' ', '-')}" data-state="${v.status.state}">${v.label}</span>`;

const gaugeFor = (v: ConnectionView) =>
  gauge(
    {
      ours: v.status.usage.ours,
      others: v.status.usage.others,
      reserve: v.status.usage.reservedForOthers,
      limit: v.connection.limit,
      thresholds: v.connection.thresholds,
      ceilings: v.connection.ceilings,
    },
    `Rolling window: ours ${v.status.usage.ours}, others ${v.status.usage.others}, reserve ${v.status.usage.reservedForOthers}, limit ${v.connection.limit}`,
  );

const legend = html`<p class="legend"><span class="key ours"></span> ours <span class="key others"></span> other integrations <span class="key reserve"></span> reserve for their bursts · marks: resume, warn, sleep thresholds (above), bulk, normal, critical ceilings (below)</p>`;

const lastTransition = (v: ConnectionView, tz: string) => {
  const t = v.status.transitions[0];
  if (!t) return html`<p>No transition yet.</p>`;
  return html`<p class="last-transition">Last: ${t.from} → <strong>${t.to}</strong> at ${t.at ? fullTime(Date.parse(t.at), tz) : ''} by <span class="who">${t.who}</span>: ${t.reason}</p>`;
};

const facts = (v: ConnectionView, tz: string) => {
  const s = v.status;
  const waiting = Object.entries(s.jobsWaiting)
    .filter(([k]) => k !== 'scope')
    .reduce((sum, [, n]) => sum + Number(n), 0);
  return html`<dl class="facts">
<dt>Usage</dt><dd>${count(s.usage.total)} of ${count(v.connection.limit)} (${pct(s.usage.total / v.connection.limit)}) in the rolling ${v.connection.windowSeconds} s; ours ${count(s.usage.ours)}, others ${count(s.usage.others)}, reserve ${count(s.usage.reservedForOthers)}</dd>
<dt>Jobs waiting</dt><dd>${count(waiting)} <small>(all connections, SQS approximate counts)</small></dd>
<dt>Expected resume</dt><dd>${s.nextResumeAt ? html`${fullTime(Date.parse(s.nextResumeAt), tz)} (${tz})` : s.state === 'asleep' ? (s.manualSleep ? 'when an operator wakes it' : 'when usage falls below the resume threshold') : '—'}</dd>
${s.usage.blockedUntil && html`<dt>Blocked after a 429 until</dt><dd>${fullTime(Date.parse(s.usage.blockedUntil), tz)}</dd>`}
</dl>`;
};

export const overviewPage = (frame: Frame & { session: Session; views: readonly ConnectionView[] }) => {
  const tz = frame.tz ?? 'UTC';
  return layout(
    'Connections',
    frame,
    html`<h1>Connections</h1>
${frame.views.length === 0 && html`<p>No connection is configured yet (<code>npm run connection</code>).</p>`}
<div class="cards">${frame.views.map(
      (
        v,
      ) => html`<section class="card conn-card" id="card-${v.connection.connectionId}" data-live data-connection="${v.connection.connectionId}">
<h2><a href="${connectionHref(v.connection.connectionId, tz)}">${v.connection.connectionId}</a> ${stateBadge(v)}</h2>
${gaugeFor(v)}${legend}${facts(v, tz)}${lastTransition(v, tz)}
</section>`,
    )}</div>`,
  );
};

export interface ConnectionPageModel extends Frame {
  session: Session;
  views: readonly ConnectionView[];
  view: ConnectionView;
  tz: string;
  tzError?: string;
  hourly: HourlyReport;
  minutes: ReturnType<typeof import('./data.ts').minutePoints>;
  notice?: { kind: 'ok' | 'error'; text: string; code?: string };
  settings?: SettingsForm;
  sleepError?: string;
}

const wakeCard = (m: ConnectionPageModel) => {
  const { view: v, session } = m;
  const id = v.connection.connectionId;
  const may = allows(session.role, 'steer');
  const action = `/console/connections/${encodeURIComponent(id)}`;
  const asleep = v.status.state === 'asleep';
  return html`<section class="card wake-card" id="wake-card" data-live data-form>
<h2>Wake Up Autotask Connection</h2>
<p class="status-line">${id} is ${stateBadge(v)} since ${v.status.since ? fullTime(Date.parse(v.status.since), m.tz) : '—'}: ${v.status.reason}</p>
${lastTransition(v, m.tz)}
${
  may && asleep
    ? html`<form method="post" action="${action}/wake" data-js data-confirm="Wake up ${id} now? Waiting jobs run again; if usage is still too high it goes back to sleep at once.">
<input type="hidden" name="tz" value="${m.tz}"><button type="submit" class="primary" name="wake">Wake Up</button></form>`
    : ''
}
${
  may && !asleep
    ? html`<form method="post" action="${action}/sleep" data-js class="sleep-form">
<label for="sleep-reason">Reason (for the transitions and the e-mail)</label>
<input id="sleep-reason" name="reason" maxlength="500" placeholder="maintenance" value="">
${m.sleepError && html`<p class="field-error">${m.sleepError}</p>`}
<input type="hidden" name="tz" value="${m.tz}"><button type="submit" name="sleep">Sleep</button></form>`
    : ''
}
${!may && html`<p class="hint">Your role (${session.role}) may look, not wake or put to sleep.</p>`}
</section>`;
};

const hourlySection = (m: ConnectionPageModel) => {
  const id = m.view.connection.connectionId;
  const { rows, from, to } = m.hourly;
  const points = rows.map((r) => {
    const at = Date.parse(r.hour);
    const w = wallTime(at, m.tz);
    return {
      label: shortTime(at, m.tz),
      ours: r.ours,
      others: r.others,
      ...(w.hour === 0 ? { tick: shortTime(at, m.tz).slice(0, 9) } : {}),
    };
  });
  const csv = `/console/connections/${encodeURIComponent(id)}/usage.csv?from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}`;
  return html`<section class="card" id="hourly" data-live>
<h2>API Activity by Hour</h2>
<form method="get" class="tz-form"><label for="tz">Time zone (IANA)</label> <input id="tz" name="tz" value="${m.tz}" spellcheck="false"> <button type="submit">Show</button>
${m.tzError && html`<span class="field-error">${m.tzError}</span>`}</form>
<p>Today and the 3 days before, in ${m.tz}. <a href="${csv}" download id="csv-link">Download these rows as CSV</a> (hours in UTC).</p>
${hourlyChart(points)}
<p class="legend"><span class="key ours"></span> ours <span class="key others"></span> other integrations</p>
<div class="table-wrap"><table class="hours"><thead><tr><th>Hour (${m.tz})</th><th>Ours</th><th>Critical</th><th>Normal</th><th>Bulk</th><th>Sync</th><th>Others</th><th>Total</th><th>Throttled</th><th>429s</th></tr></thead>
<tbody>${rows.map(
    (r) =>
      html`<tr data-hour="${r.hour}"><td>${shortTime(Date.parse(r.hour), m.tz)}</td><td>${r.ours}</td><td>${r.critical}</td><td>${r.normal}</td><td>${r.bulk}</td><td>${r.sync}</td><td>${r.others}</td><td>${r.total}</td><td>${r.throttled}</td><td>${r.refused429}</td></tr>`,
  )}</tbody></table></div>
</section>`;
};

const transitions = (m: ConnectionPageModel) =>
  html`<section class="card" id="transitions" data-live><h2>Transitions</h2>
${
  m.view.status.transitions.length === 0
    ? html`<p>None yet.</p>`
    : html`<table><thead><tr><th>At (${m.tz})</th><th>From</th><th>To</th><th>Who</th><th>Reason</th></tr></thead><tbody>${m.view.status.transitions.map(
        (t) =>
          html`<tr><td>${t.at ? fullTime(Date.parse(t.at), m.tz) : ''}</td><td>${t.from}</td><td>${t.to}</td><td>${t.who}</td><td>${t.reason}</td></tr>`,
      )}</tbody></table>`
}</section>`;

const settingsSection = (m: ConnectionPageModel) => {
  const c = m.view.connection;
  const id = c.connectionId;
  const form = m.settings ?? settingsFields(c);
  if (!allows(m.session.role, 'configure'))
    return html`<section class="card advanced" id="settings"><h2>Settings <small>(advanced)</small></h2>
<p class="hint">Only an admin may change settings.</p>
<p>Limit ${count(c.limit)} per ${c.windowSeconds} s · ceilings bulk ${pct(c.ceilings.bulk)}, normal ${pct(c.ceilings.normal)}, critical ${pct(c.ceilings.critical)} · thresholds warn ${pct(c.thresholds.warn)}, sleep ${pct(c.thresholds.sleep)}, resume ${pct(c.thresholds.resume)} · critical jobs while asleep: ${c.criticalWhileAsleep ? 'yes' : 'no'}</p></section>`;
  const field = (name: string, label: string, hint: string, type = 'text') =>
    html`<div class="field${form.errors[name] ? ' invalid' : ''}"><label for="f-${name}">${label}</label>
<input id="f-${name}" name="${name}" type="${type}" value="${form.values[name] ?? ''}" ${form.errors[name] ? html`aria-invalid="true" aria-describedby="e-${name}"` : ''}> <small>${hint}</small>
${form.errors[name] && html`<p class="field-error" id="e-${name}">${form.errors[name]}</p>`}</div>`;
  const group = (name: string) =>
    form.errors[name] && html`<p class="field-error" id="e-${name}">${form.errors[name]}</p>`;
  return html`<section class="card advanced" id="settings" data-form>
<details ${Object.keys(form.errors).length ? 'open' : ''}><summary><h2>Settings <small>(advanced: change rarely and carefully)</small></h2></summary>
<form method="post" action="/console/connections/${encodeURIComponent(id)}/settings" data-js novalidate>
<input type="hidden" name="tz" value="${m.tz}">
<fieldset><legend>Cap</legend>
${field('limit', 'Limit (requests per window)', '10 to 10,000')}
${field('windowSeconds', 'Window (seconds)', 'Autotask: 3600')}</fieldset>
<fieldset><legend>Ceilings by priority (% of the limit)</legend>${group('ceilings')}
${field('ceilings.bulk', 'Bulk', 'default 60')}${field('ceilings.normal', 'Normal', 'default 80')}${field('ceilings.critical', 'Critical', 'default 95')}</fieldset>
<fieldset><legend>Thresholds (% of the limit, database total)</legend>${group('thresholds')}
${field('thresholds.warn', 'Warn', 'default 75')}${field('thresholds.sleep', 'Sleep', 'default 90')}${field('thresholds.resume', 'Resume', 'default 70')}</fieldset>
<fieldset><legend>Alerts</legend>
<div class="field${form.errors.alertRecipients ? ' invalid' : ''}"><label for="f-alertRecipients">Alert recipients (one e-mail address per line or comma-separated)</label>
<textarea id="f-alertRecipients" name="alertRecipients" rows="3">${form.values.alertRecipients ?? ''}</textarea>
${form.errors.alertRecipients && html`<p class="field-error" id="e-alertRecipients">${form.errors.alertRecipients}</p>`}</div>
<div class="field"><label><input type="checkbox" name="criticalWhileAsleep" value="yes" ${form.values.criticalWhileAsleep === 'yes' ? 'checked' : ''}> Critical jobs keep running while asleep</label></div></fieldset>
${group('_form')}
<button type="submit" name="save">Save settings</button></form></details></section>`;
};

export const connectionPage = (m: ConnectionPageModel): SafeHtml => {
  const v = m.view;
  const c = v.connection;
  return layout(
    c.connectionId,
    m,
    html`<h1>${c.connectionId} ${stateBadge(v)}</h1>
<div id="notice" class="${m.notice ? `notice ${m.notice.kind}` : 'notice empty'}" role="status" ${m.notice?.code ? html`data-code="${m.notice.code}"` : ''}>${m.notice?.text}</div>
${wakeCard(m)}
<section class="card" id="window" data-live><h2>The rolling window</h2>${gaugeFor(v)}${legend}${facts(v, m.tz)}
<h3>The last window, ${c.windowSeconds === 3600 ? 'minute by minute' : `bucket by bucket (${c.windowSeconds / 60} s each)`}</h3>
<p class="hint">Each bar adds its bucket (${c.windowSeconds / 60} s) to the ones before it, so the last bar is the window's total. Ours are shown as one figure: the budget keeps calls by priority per hour, not per bucket (see the hourly table).</p>
${minuteChart(m.minutes, c.limit, c.thresholds, (at) => shortTime(at, m.tz).slice(10))}
<p class="legend"><span class="key ours"></span> ours <span class="key others"></span> other integrations (as the budget counts them, reserve included) · lines: limit, sleep, warn, resume</p>
</section>
${hourlySection(m)}
${transitions(m)}
${settingsSection(m)}`,
  );
};

export const confirmWakePage = (frame: Frame & { session: Session }, id: string, tz: string): SafeHtml =>
  layout(
    `Wake up ${id}?`,
    frame,
    html`<h1>Wake up ${id}?</h1><p>Waiting jobs run again. If usage is still too high it goes back to sleep at once.</p>
<form method="post" action="/console/connections/${encodeURIComponent(id)}/wake"><input type="hidden" name="confirm" value="yes"><input type="hidden" name="tz" value="${tz}">
<button type="submit" class="primary">Yes, wake it up</button> <a href="${connectionHref(id, tz)}">Cancel</a></form>`,
  );
