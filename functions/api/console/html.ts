import { escapeHtml } from '#shared/alerts/templates.ts';

/**
 * Markup that is already safe: produced by the `html` tag (whose interpolations were escaped) or
 * marked so on purpose with `trusted()`. Anything else that reaches a page is escaped.
 */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

const render = (value: Part): string => {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return (value as readonly Part[]).map(render).join('');
  return escapeHtml(String(value));
};

/**
 * The console's only way to build markup: every interpolation is escaped unless it is SafeHtml;
 * arrays are joined; `null`, `undefined` and `false` render nothing (so `${cond && html`...`}` works).
 */
export const html = (strings: TemplateStringsArray, ...values: Part[]): SafeHtml => {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
};

/** Marks markup built elsewhere as safe (the SVG charts, whose text goes through `html` too). */
export const trusted = (markup: string): SafeHtml => new SafeHtml(markup);
