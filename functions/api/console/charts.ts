import { html, type SafeHtml } from './html.ts';

/**
 * Charts drawn on the server as SVG (docs/console.md, "Charts"): they work without JavaScript, weigh
 * nothing in the browser, and use presentation attributes only, so the strict CSP (no inline style)
 * holds. Colours come from the style sheet through class names.
 */
const W = 640;
const fmt = (n: number) => Math.round(n * 10) / 10;
const pct = (f: number) => `${Math.round(f * 1000) / 10} %`;

export interface GaugeInput {
  ours: number;
  others: number;
  reserve: number;
  limit: number;
  thresholds: { warn: number; sleep: number; resume: number };
  ceilings: { bulk: number; normal: number; critical: number };
}

/** The rolling window against the limit: ours, others and the reserve stacked, with every bar marked. */
export const gauge = (g: GaugeInput, label: string): SafeHtml => {
  const H = 78;
  const barY = 26;
  const barH = 24;
  const x = (n: number) => fmt((Math.max(0, Math.min(n, g.limit)) / g.limit) * W);
  const oursW = x(g.ours);
  const othersW = fmt(x(g.ours + g.others) - oursW);
  const reserveW = fmt(x(g.ours + g.others + g.reserve) - oursW - othersW);
  const marks: Array<[string, number, string, 'top' | 'bottom']> = [
    ['resume', g.thresholds.resume, 'mark-resume', 'top'],
    ['warn', g.thresholds.warn, 'mark-warn', 'top'],
    ['sleep', g.thresholds.sleep, 'mark-sleep', 'top'],
    ['bulk', g.ceilings.bulk, 'mark-ceiling', 'bottom'],
    ['normal', g.ceilings.normal, 'mark-ceiling', 'bottom'],
    ['critical', g.ceilings.critical, 'mark-ceiling', 'bottom'],
  ];
  // labels closer than a word's width apart take turns between two rows, so none hides another
  const lastX = { top: Number.NEGATIVE_INFINITY, bottom: Number.NEGATIVE_INFINITY };
  const row = { top: 0, bottom: 0 };
  const placed = [...marks]
    .sort((a, b) => a[1] - b[1])
    .map(([name, f, cls, where]) => {
      const mx = fmt(f * W);
      row[where] = mx - lastX[where] < 48 ? 1 - row[where] : 0;
      lastX[where] = mx;
      const ty = where === 'top' ? 10 + row.top * 11 : barY + barH + 12 + row.bottom * 11;
      return { name, f, cls, mx, ty };
    });
  return html`<svg class="gauge" viewBox="0 0 ${W} ${H}" role="img" aria-label="${label}">
<title>${label}</title>
<rect class="track" x="0" y="${barY}" width="${W}" height="${barH}"/>
<rect class="ours" x="0" y="${barY}" width="${oursW}" height="${barH}"/>
<rect class="others" x="${oursW}" y="${barY}" width="${othersW}" height="${barH}"/>
<rect class="reserve" x="${fmt(oursW + othersW)}" y="${barY}" width="${reserveW}" height="${barH}"/>
${placed.map(
  (m) =>
    html`<line class="${m.cls}" x1="${m.mx}" x2="${m.mx}" y1="${barY - 3}" y2="${barY + barH + 3}"><title>${m.name} ${pct(m.f)}</title></line><text class="mark-label" x="${m.mx}" y="${m.ty}" text-anchor="middle">${m.name}</text>`,
)}
</svg>`;
};

export interface MinutePoint {
  /** Epoch ms of the bucket's start. */
  at: number;
  ours: number;
  others: number;
}

/**
 * The current window bucket by bucket, accumulated: bar i holds every call counted from the window's
 * oldest bucket up to bucket i (ours below, others above), so the last bar is the window's total and
 * the limit and thresholds apply to every bar as drawn.
 */
export const minuteChart = (
  points: readonly MinutePoint[],
  limit: number,
  thresholds: { warn: number; sleep: number; resume: number },
  label: (at: number) => string,
): SafeHtml => {
  const H = 180;
  const top = 10;
  const plotH = H - top - 20;
  let ours = 0;
  let others = 0;
  const stacked = points.map((p) => {
    ours += p.ours;
    others += p.others;
    return { at: p.at, ours, others, oursHere: p.ours, othersHere: p.others };
  });
  const max = Math.max(limit, ours + others) * 1.05;
  const y = (n: number) => fmt(top + plotH - (n / max) * plotH);
  const bw = W / Math.max(1, stacked.length);
  const lines: Array<[string, number, string]> = [
    ['limit', limit, 'line-limit'],
    ['sleep', limit * thresholds.sleep, 'mark-sleep'],
    ['warn', limit * thresholds.warn, 'mark-warn'],
    ['resume', limit * thresholds.resume, 'mark-resume'],
  ];
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Calls counted in the current window, bucket by bucket">
${stacked.map((s, i) => {
  const x = fmt(i * bw + 0.5);
  const w = fmt(Math.max(1, bw - 1));
  return html`<g><title>${label(s.at)}: ours ${s.oursHere}, others ${s.othersHere} (window so far: ${s.ours + s.others})</title><rect class="ours" x="${x}" y="${y(s.ours)}" width="${w}" height="${fmt(y(0) - y(s.ours))}"/><rect class="others" x="${x}" y="${y(s.ours + s.others)}" width="${w}" height="${fmt(y(s.ours) - y(s.ours + s.others))}"/></g>`;
})}
${lines.map(
  ([name, value, cls]) =>
    html`<line class="${cls}" x1="0" x2="${W}" y1="${y(value)}" y2="${y(value)}"/><text class="line-label" x="${W - 4}" y="${fmt(y(value) - 3)}" text-anchor="end">${name} ${Math.round(value)}</text>`,
)}
<text class="axis" x="0" y="${H - 4}">${stacked[0] ? label(stacked[0].at) : ''}</text>
<text class="axis" x="${W}" y="${H - 4}" text-anchor="end">${stacked.at(-1) ? label((stacked.at(-1) as { at: number }).at) : ''}</text>
</svg>`;
};

export interface HourPoint {
  label: string;
  /** Shown under the bar (the first hour of each day). */
  tick?: string;
  ours: number;
  others: number;
}

/** API activity by hour: ours and other integrations' calls stacked, one bar per hour. */
export const hourlyChart = (points: readonly HourPoint[]): SafeHtml => {
  const H = 160;
  const top = 8;
  const plotH = H - top - 22;
  const max = Math.max(1, ...points.map((p) => p.ours + p.others)) * 1.05;
  const y = (n: number) => fmt(top + plotH - (n / max) * plotH);
  const bw = W / Math.max(1, points.length);
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="API activity by hour">
${points.map((p, i) => {
  const x = fmt(i * bw);
  const w = fmt(Math.max(0.5, bw - 0.5));
  return html`<g><title>${p.label}: ours ${p.ours}, others ${p.others}</title><rect class="ours" x="${x}" y="${y(p.ours)}" width="${w}" height="${fmt(y(0) - y(p.ours))}"/><rect class="others" x="${x}" y="${y(p.ours + p.others)}" width="${w}" height="${fmt(y(p.ours) - y(p.ours + p.others))}"/>${p.tick ? html`<line class="tick" x1="${x}" x2="${x}" y1="${top}" y2="${H - 18}"/><text class="axis" x="${fmt(x + 2)}" y="${H - 5}">${p.tick}</text>` : ''}</g>`;
})}
<text class="axis" x="${W}" y="${top + 8}" text-anchor="end">max ${Math.round(max / 1.05)} per hour</text>
</svg>`;
};
