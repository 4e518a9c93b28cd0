/**
 * The alert e-mails: one set of facts rendered twice, as plain text and as simple HTML (inline
 * markup only: no external images or style sheets, which mail clients block). Every interpolated
 * value is escaped in the HTML, since reasons and token names come from outside this file; in both
 * renderings reasons and names are shown on one line and quoted, so no text from outside can start a
 * line of its own (a fake "Wake it now:" link in the plain text).
 */
export type AlertKind = 'sleep' | 'resume' | 'usage-high' | 'warning';

export interface AlertFacts {
  kind: AlertKind;
  connectionId: string;
  /** Epoch milliseconds. */
  at: number;
  /** e.g. "database total reached 90 % of the cap", "usage remains high". */
  reason: string;
  /** For resume: "automatic" or the token name / "wake link". */
  who?: string;
  /** A sleep by hand: only an operator wakes it (with the API); no wake link is rendered. */
  manual?: boolean;
  usage: { ours: number; others: number; total: number; limit: number; windowSeconds: number };
  /** Fractions of the limit. */
  thresholds: { warn: number; sleep: number; resume: number };
  busiestEndpoints?: Array<{ endpoint: string; calls: number }>;
  /** Epoch milliseconds. */
  expectedResumeAt?: number;
  /** Absolute URL; only rendered in sleep and usage-high mails. */
  wakeLink?: string;
  /** The connection's page in the operators' console (absolute URL). */
  statusUrl?: string;
}

const SUBJECT_PREFIX = '[autotask-governor]';
const MAX_ENDPOINTS = 10;

// Built at the first alert, not at import: the first Intl formatter of a process loads ICU data
// (~20 ms), and this module is imported by every function at init while alerts are rare.
let numbers: Intl.NumberFormat | undefined;
const count = (n: number) => {
  numbers ??= new Intl.NumberFormat('en-US');
  return numbers.format(n);
};
const percent = (fraction: number) => `${Number((fraction * 100).toFixed(1))} %`;
const share = (n: number, limit: number) => percent(limit > 0 ? n / limit : 0);
/** ISO 8601 in UTC, to the second. */
export const isoUtc = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const windowText = (seconds: number): string => {
  // Autotask speaks of "60 minutes": minutes up to two hours, hours beyond.
  if (seconds > 7200 && seconds % 3600 === 0) return `${seconds / 3600}-hour`;
  if (seconds % 60 === 0) return `${seconds / 60}-minute`;
  return `${seconds}-second`;
};

export const escapeHtml = (value: string | number): string =>
  String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');

/** Only http(s) URLs become links: anything else (javascript:, data:) would be a trap in a mail. */
const isWebUrl = (url: string) => /^https?:\/\/[^\s]+$/i.test(url);

const automatic = (who: string | undefined) => !who || who === 'automatic';

/** One line, whatever the input: subjects are headers. Control characters (CR, LF, NEL, ESC...) become spaces. */
const oneLine = (value: string) => value.replace(/[\s\p{Cc}]+/gu, ' ').trim();

/** Text from outside (reasons, names) in a mail body: on one line and in double quotes. */
const quoted = (value: string) => `"${oneLine(value)}"`;

const subjectFor = (facts: AlertFacts): string => {
  const id = oneLine(facts.connectionId);
  switch (facts.kind) {
    case 'sleep':
      return `${SUBJECT_PREFIX} ${id}: asleep`;
    case 'resume':
      return automatic(facts.who)
        ? `${SUBJECT_PREFIX} ${id}: resumed automatically`
        : `${SUBJECT_PREFIX} ${id}: resumed (manually by ${oneLine(facts.who ?? '')})`;
    case 'usage-high':
      return `${SUBJECT_PREFIX} ${id}: usage remains high`;
    case 'warning':
      return `${SUBJECT_PREFIX} ${id}: usage at ${share(facts.usage.total, facts.usage.limit)} of the cap`;
  }
};

const headlineFor = (facts: AlertFacts): string => {
  const id = facts.connectionId;
  switch (facts.kind) {
    case 'sleep':
      return `${id} is asleep: bulk and normal jobs wait until it resumes.`;
    case 'resume':
      return `${id} has resumed: waiting jobs run again.`;
    case 'usage-high':
      return `${id} is still asleep: usage remains high.`;
    case 'warning':
      return `Usage of ${id} has reached ${share(facts.usage.total, facts.usage.limit)} of the cap.`;
  }
};

/** The facts as label/value rows, shared by both renderings so text and HTML never disagree. */
const detailRows = (facts: AlertFacts): Array<[string, string]> => {
  const rows: Array<[string, string]> = [
    ['Reason', quoted(facts.reason)],
    ['At', `${isoUtc(facts.at)} (UTC)`],
  ];
  if (facts.kind === 'resume') {
    rows.push(['Resumed', automatic(facts.who) ? 'automatically' : `manually by ${quoted(facts.who ?? '')}`]);
  }
  if (facts.kind === 'usage-high' && facts.who) rows.push(['Wake requested by', quoted(facts.who)]);
  if (facts.kind === 'sleep' && facts.who && !['governor', 'automatic'].includes(facts.who)) {
    rows.push(['Put to sleep by', quoted(facts.who)]);
  }
  if (facts.expectedResumeAt !== undefined && facts.kind !== 'resume') {
    rows.push([
      'Expected to resume',
      `${isoUtc(facts.expectedResumeAt)} (UTC), when usage falls below ${percent(facts.thresholds.resume)} of the cap`,
    ]);
  }
  return rows;
};

const usageRows = (facts: AlertFacts): Array<[string, string, string]> => {
  const { ours, others, total, limit } = facts.usage;
  return [
    ['this governor', count(ours), share(ours, limit)],
    ['other integrations', count(others), share(others, limit)],
    ['total', count(total), share(total, limit)],
  ];
};

const usageTitle = (facts: AlertFacts) =>
  `Usage in the rolling ${windowText(facts.usage.windowSeconds)} window (cap ${count(facts.usage.limit)} requests)`;

const thresholdsText = (facts: AlertFacts) =>
  `Thresholds: warn at ${percent(facts.thresholds.warn)}, sleep at ${percent(facts.thresholds.sleep)}, ` +
  `resume below ${percent(facts.thresholds.resume)} of the cap.`;

const endpointsOf = (facts: AlertFacts) =>
  [...(facts.busiestEndpoints ?? [])].sort((a, b) => b.calls - a.calls).slice(0, MAX_ENDPOINTS);

const wakeLinkOf = (facts: AlertFacts) =>
  (facts.kind === 'sleep' || facts.kind === 'usage-high') && !facts.manual && facts.wakeLink
    ? facts.wakeLink
    : undefined;

const manualNote = (facts: AlertFacts) =>
  facts.kind === 'sleep' && facts.manual
    ? `It was put to sleep by hand, so it stays asleep until an operator wakes it with ` +
      `POST /connections/${oneLine(facts.connectionId)}/wake in the operators' API; ` +
      'this e-mail has no wake link.'
    : undefined;

const WAKE_NOTE =
  'Opening the link shows a confirmation page; the connection wakes only when you confirm there. ' +
  'The link works once and expires. Waking early lets bulk and normal jobs spend budget again ' +
  'while the database is close to its cap.';

const renderText = (facts: AlertFacts): string => {
  const lines: string[] = [headlineFor(facts), ''];
  const rows = detailRows(facts);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  for (const [label, value] of rows) lines.push(`${`${label}:`.padEnd(width)}${value}`);
  lines.push('', `${usageTitle(facts)}:`);
  for (const [label, n, pct] of usageRows(facts)) {
    lines.push(`  ${label.padEnd(20)}${n.padStart(10)}  (${pct})`);
  }
  lines.push(thresholdsText(facts));
  const endpoints = endpointsOf(facts);
  if (endpoints.length > 0) {
    lines.push('', 'Busiest endpoints (calls this hour and the last):');
    const pathWidth = Math.max(...endpoints.map((e) => e.endpoint.length)) + 2;
    for (const e of endpoints) lines.push(`  ${e.endpoint.padEnd(pathWidth)}${count(e.calls).padStart(8)}`);
  }
  const manual = manualNote(facts);
  if (manual) lines.push('', manual);
  const wake = wakeLinkOf(facts);
  if (wake) lines.push('', 'Wake it now:', oneLine(wake), WAKE_NOTE);
  if (facts.statusUrl) lines.push('', `Status in the console: ${facts.statusUrl}`);
  lines.push('', '-- autotask-governor');
  return `${lines.join('\n')}\n`;
};

const link = (url: string) =>
  isWebUrl(url) ? `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>` : escapeHtml(url);

const renderHtml = (facts: AlertFacts, subject: string): string => {
  const cell = 'style="padding:2px 12px 2px 0;text-align:left;vertical-align:top"';
  const num = 'style="padding:2px 12px 2px 0;text-align:right"';
  const parts: string[] = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.4;color:#222">',
    `<p><strong>${escapeHtml(headlineFor(facts))}</strong></p>`,
    '<table role="presentation" style="border-collapse:collapse">',
    ...detailRows(facts).map(
      ([label, value]) =>
        `<tr><th ${cell}>${escapeHtml(label)}</th><td ${cell}>${escapeHtml(value)}</td></tr>`,
    ),
    '</table>',
    `<p>${escapeHtml(usageTitle(facts))}:</p>`,
    '<table style="border-collapse:collapse">',
    ...usageRows(facts).map(
      ([label, n, pct]) =>
        `<tr><th ${cell}>${escapeHtml(label)}</th><td ${num}>${escapeHtml(n)}</td><td ${num}>${escapeHtml(pct)}</td></tr>`,
    ),
    '</table>',
    `<p>${escapeHtml(thresholdsText(facts))}</p>`,
  ];
  const endpoints = endpointsOf(facts);
  if (endpoints.length > 0) {
    parts.push(
      '<p>Busiest endpoints (calls this hour and the last):</p>',
      '<table style="border-collapse:collapse">',
      ...endpoints.map(
        (e) =>
          `<tr><td ${cell}><code>${escapeHtml(e.endpoint)}</code></td><td ${num}>${escapeHtml(count(e.calls))}</td></tr>`,
      ),
      '</table>',
    );
  }
  const manual = manualNote(facts);
  if (manual) parts.push(`<p>${escapeHtml(manual)}</p>`);
  const wake = wakeLinkOf(facts);
  if (wake) parts.push(`<p>Wake it now: ${link(wake)}</p>`, `<p>${escapeHtml(WAKE_NOTE)}</p>`);
  if (facts.statusUrl) parts.push(`<p>Status in the console: ${link(facts.statusUrl)}</p>`);
  parts.push('<p style="color:#666">-- autotask-governor</p>', '</body></html>');
  return `${parts.join('\n')}\n`;
};

export const renderAlert = (facts: AlertFacts): { subject: string; text: string; html: string } => {
  const subject = subjectFor(facts);
  return { subject, text: renderText(facts), html: renderHtml(facts, subject) };
};
