/**
 * The console's building blocks without a browser: escaping by default, the settings form's errors
 * beside their fields, wall-clock days in a time zone, and the one route table.
 */
import { describe, expect, it } from 'vitest';
import { html, trusted } from '#functions/api/console/html.ts';
import { fieldErrors, readSettingsForm } from '#functions/api/console/settings-form.ts';
import { isTimeZone, startOfLocalDay } from '#functions/api/console/time-zone.ts';
import { pathPattern, ROUTE_TABLE } from '#functions/api/route-table.ts';
import { type Connection, connectionSettingsSchema } from '#shared/connections/model.ts';

const connection = {
  ...connectionSettingsSchema.parse({ apiUser: 'api@msp.example', integrationCode: 'X', secretRef: 's' }),
  connectionId: 'msp-main',
  createdAt: '',
  updatedAt: '',
} as Connection;

describe('html', () => {
  it('escapes every interpolation unless it is marked safe, and joins arrays', () => {
    const reason = '"><script>alert(1)</script>';
    const out = html`<p title="${reason}">${reason} ${[html`<b>${'<i>'}</b>`, 2]} ${trusted('<hr>')}</p>`;
    expect(out.text).toBe(
      '<p title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; <b>&lt;i&gt;</b>2 <hr></p>',
    );
    expect(html`${null}${undefined}${false}${0}`.text).toBe('0');
  });
});

describe('the settings form', () => {
  const form = (over: Record<string, string>) =>
    new URLSearchParams({
      limit: '10000',
      windowSeconds: '3600',
      'ceilings.bulk': '60',
      'ceilings.normal': '80',
      'ceilings.critical': '95',
      'thresholds.warn': '75',
      'thresholds.sleep': '90',
      'thresholds.resume': '70',
      alertRecipients: 'a@msp.example, b@msp.example',
      criticalWhileAsleep: 'yes',
      ...over,
    });
  const errorsOf = (over: Record<string, string>) => {
    const read = readSettingsForm(form(over), connection);
    if (!read.body) return read.form.errors;
    const parsed = connectionSettingsSchema.safeParse(read.body);
    return parsed.success ? {} : fieldErrors(parsed.error);
  };

  it('turns percentages into fractions and keeps the fields it does not show', () => {
    const { body } = readSettingsForm(form({ 'thresholds.warn': '72.5' }), connection);
    expect(body).toMatchObject({
      apiUser: 'api@msp.example',
      secretRef: 's',
      thresholds: { warn: 0.725, sleep: 0.9, resume: 0.7 },
      alertRecipients: ['a@msp.example', 'b@msp.example'],
      criticalWhileAsleep: true,
    });
    expect(errorsOf({})).toEqual({});
  });

  it('puts each error beside its field, rules between fields beside their group', () => {
    expect(errorsOf({ limit: 'lots' })).toEqual({ limit: 'enter a number' });
    expect(errorsOf({ limit: '20000' })).toMatchObject({ limit: expect.stringMatching(/10000/) });
    expect(errorsOf({ 'ceilings.bulk': '0' })).toMatchObject({ 'ceilings.bulk': 'must be above 0 %' });
    expect(errorsOf({ 'thresholds.resume': '95' })).toEqual({
      thresholds: 'thresholds.resume must be below thresholds.sleep',
    });
    expect(errorsOf({ alertRecipients: 'ok@msp.example, not-an-address' })).toMatchObject({
      alertRecipients: expect.stringMatching(/item 2/),
    });
  });
});

describe('time zones', () => {
  it('accepts IANA names only and finds local midnight across a DST change', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('<script>')).toBe(false);
    // 2026-03-29 10:00 in Paris (CEST, +2): midnight was 2026-03-28T23:00Z (still CET, +1)
    const at = Date.parse('2026-03-29T08:00:00Z');
    expect(new Date(startOfLocalDay(at, 'Europe/Paris')).toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(new Date(startOfLocalDay(at, 'Europe/Paris', 3)).toISOString()).toBe('2026-03-25T23:00:00.000Z');
    expect(new Date(startOfLocalDay(at, 'UTC', 3)).toISOString()).toBe('2026-03-26T00:00:00.000Z');
  });
});

describe('the route table', () => {
  it('has each method and path once, and its patterns take one segment per parameter', () => {
    const keys = ROUTE_TABLE.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(
      pathPattern('/console/connections/{id}/usage.csv').exec('/console/connections/a.b/usage.csv')?.[1],
    ).toBe('a.b');
    expect(pathPattern('/console/connections/{id}').test('/console/connections/a/b')).toBe(false);
    for (const r of ROUTE_TABLE)
      if (r.auth === 'bearer' || r.auth === 'session') expect(r.needs, `${r.method} ${r.path}`).toBeDefined();
  });
});
