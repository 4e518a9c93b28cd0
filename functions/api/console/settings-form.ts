import type * as z from 'zod';
import type { Connection } from '#shared/connections/model.ts';

/**
 * The console's settings form: percentages on screen, fractions in the settings; every error is
 * keyed by the field it belongs to (a rule between fields, e.g. resume below sleep, by its group).
 */
export interface SettingsForm {
  values: Record<string, string>;
  errors: Record<string, string>;
}

const NUMBERS = ['limit', 'windowSeconds'] as const;
const PERCENTS = [
  'ceilings.bulk',
  'ceilings.normal',
  'ceilings.critical',
  'thresholds.warn',
  'thresholds.sleep',
  'thresholds.resume',
] as const;

const asPercent = (fraction: number) => String(Math.round(fraction * 10_000) / 100);

export const settingsFields = (c: Connection): SettingsForm => ({
  values: {
    limit: String(c.limit),
    windowSeconds: String(c.windowSeconds),
    'ceilings.bulk': asPercent(c.ceilings.bulk),
    'ceilings.normal': asPercent(c.ceilings.normal),
    'ceilings.critical': asPercent(c.ceilings.critical),
    'thresholds.warn': asPercent(c.thresholds.warn),
    'thresholds.sleep': asPercent(c.thresholds.sleep),
    'thresholds.resume': asPercent(c.thresholds.resume),
    alertRecipients: c.alertRecipients.join('\n'),
    criticalWhileAsleep: c.criticalWhileAsleep ? 'yes' : '',
  },
  errors: {},
});

/**
 * The posted form as settings for the schema: the fields the console does not show (API user,
 * integration code, secret, enabled) are kept as stored, and the zone is left out (the store keeps
 * the one discovered for this API user). Numbers that are not numbers are
 * refused here; everything else is left to the schema (`fieldErrors`).
 */
export const readSettingsForm = (
  form: URLSearchParams,
  c: Connection,
): { form: SettingsForm; body?: Record<string, unknown> } => {
  const values: Record<string, string> = {};
  const errors: Record<string, string> = {};
  const number = (name: string) => {
    const text = (form.get(name) ?? '').trim();
    values[name] = text;
    const value = Number(text);
    if (text === '' || !Number.isFinite(value)) {
      errors[name] = 'enter a number';
      return Number.NaN;
    }
    return value;
  };
  const n = Object.fromEntries(NUMBERS.map((k) => [k, number(k)]));
  const p = Object.fromEntries(PERCENTS.map((k) => [k, number(k) / 100]));
  values.alertRecipients = (form.get('alertRecipients') ?? '').slice(0, 5000);
  values.criticalWhileAsleep = form.get('criticalWhileAsleep') === 'yes' ? 'yes' : '';
  if (Object.keys(errors).length > 0) return { form: { values, errors } };
  const round = (f: number | undefined) => Math.round((f ?? 0) * 10_000) / 10_000;
  return {
    form: { values, errors },
    body: {
      apiUser: c.apiUser,
      integrationCode: c.integrationCode,
      secretRef: c.secretRef,
      enabled: c.enabled,
      limit: n.limit,
      windowSeconds: n.windowSeconds,
      ceilings: {
        bulk: round(p['ceilings.bulk']),
        normal: round(p['ceilings.normal']),
        critical: round(p['ceilings.critical']),
      },
      thresholds: {
        warn: round(p['thresholds.warn']),
        sleep: round(p['thresholds.sleep']),
        resume: round(p['thresholds.resume']),
      },
      alertRecipients: values.alertRecipients
        .split(/[\s,;]+/)
        .map((r) => r.trim())
        .filter(Boolean),
      criticalWhileAsleep: values.criticalWhileAsleep === 'yes',
    },
  };
};

/** The schema's complaints, each beside its field (percent fields speak in percent). */
export const fieldErrors = (error: z.ZodError): Record<string, string> => {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    let key = path.join('.');
    if (path[0] === 'alertRecipients') key = 'alertRecipients';
    else if (!(NUMBERS as readonly string[]).includes(key) && !(PERCENTS as readonly string[]).includes(key))
      key = path[0] === 'ceilings' || path[0] === 'thresholds' ? path[0] : '_form';
    let message = issue.message;
    if ((PERCENTS as readonly string[]).includes(key)) {
      if (issue.code === 'too_small') message = 'must be above 0 %';
      if (issue.code === 'too_big') message = 'must be at most 100 %';
    }
    if (key === 'alertRecipients') message = `${message} (item ${Number(path[1] ?? 0) + 1})`;
    errors[key] ??= message;
  }
  return errors;
};
