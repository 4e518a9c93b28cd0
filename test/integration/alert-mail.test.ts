import { SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '#local/emulators.ts';
import { SesMailer } from '#shared/alerts/mailer.ts';
import { type AlertFacts, type AlertKind, renderAlert } from '#shared/alerts/templates.ts';

interface CapturedEmail {
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
}

let emulators: Emulators;
let ses: SESv2Client;

beforeAll(async () => {
  emulators = await startEmulators();
  ses = new SESv2Client({
    region: emulators.region,
    endpoint: emulators.endpoints.ses,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  ses?.destroy();
  await emulators?.stop();
});

beforeEach(async () => {
  await emulators.clearSes();
});

const AT = Date.parse('2026-11-23T18:30:00Z');
const RESUME_AT = Date.parse('2026-11-23T19:12:00Z');
const WAKE = 'https://api.example.com/wake-links/eyJjIjoi.c2ln';

const facts = (kind: AlertKind, extra: Partial<AlertFacts> = {}): AlertFacts => ({
  kind,
  connectionId: 'msp-main',
  at: AT,
  reason: 'database total reached 90 % of the cap',
  usage: { ours: 6_120, others: 2_880, total: 9_000, limit: 10_000, windowSeconds: 3600 },
  thresholds: { warn: 0.75, sleep: 0.9, resume: 0.7 },
  busiestEndpoints: [
    { endpoint: '/Companies/query', calls: 1_450 },
    { endpoint: '/Tickets/query', calls: 3_210 },
  ],
  expectedResumeAt: RESUME_AT,
  ...extra,
});

const cases: Array<{ facts: AlertFacts; subject: string; wake: boolean }> = [
  {
    facts: facts('sleep', { wakeLink: WAKE, statusUrl: 'https://api.example.com/connections/msp-main' }),
    subject: '[autotask-governor] msp-main: asleep',
    wake: true,
  },
  {
    facts: facts('usage-high', { reason: 'usage remains high', wakeLink: WAKE }),
    subject: '[autotask-governor] msp-main: usage remains high',
    wake: true,
  },
  {
    facts: facts('resume', {
      who: 'ops laptop',
      reason: 'woken by an operator',
      usage: { ours: 4_000, others: 2_500, total: 6_500, limit: 10_000, windowSeconds: 3600 },
      // a resume mail carries no wake link, even if one is handed in
      wakeLink: WAKE,
    }),
    subject: '[autotask-governor] msp-main: resumed (manually by ops laptop)',
    wake: false,
  },
  {
    facts: facts('warning', {
      reason: 'database total reached 75 % of the cap',
      usage: { ours: 5_000, others: 2_500, total: 7_500, limit: 10_000, windowSeconds: 3600 },
    }),
    subject: '[autotask-governor] msp-main: usage at 75 % of the cap',
    wake: false,
  },
];

describe('alert e-mails through SES', () => {
  it.each(cases)('sends "$subject"', async ({ facts: f, subject, wake }) => {
    const mailer = new SesMailer(ses, 'alerts@msp.example');
    await mailer.send({ to: ['ops@msp.example', 'owner@msp.example'], ...renderAlert(f) });
    const emails = (await emulators.sesStore()) as CapturedEmail[];
    expect(emails).toHaveLength(1);
    const [mail] = emails;
    expect(mail?.subject).toBe(subject);
    expect(mail?.from).toBe('alerts@msp.example');
    expect(mail?.destination.to).toEqual(['ops@msp.example', 'owner@msp.example']);

    const { ours, others, total } = f.usage;
    const pct = (n: number) => `${n / 100} %`;
    for (const body of [mail?.body.text ?? '', mail?.body.html ?? '']) {
      expect(body).toContain(f.reason);
      for (const n of [ours, others, total]) {
        expect(body).toContain(n.toLocaleString('en-US'));
        expect(body).toContain(pct(n));
      }
      expect(body).toContain('10,000');
      expect(body).toContain('60-minute');
      expect(body).toContain('/Tickets/query');
      expect(body).toContain('3,210');
      expect(body.indexOf('/Tickets/query')).toBeLessThan(body.indexOf('/Companies/query'));
      if (f.kind === 'resume') {
        // names from outside are quoted ("&quot;" in the HTML)
        expect(body.replaceAll('&quot;', '"')).toContain('manually by "ops laptop"');
        expect(body).not.toContain('2026-11-23T19:12:00Z');
      } else {
        expect(body).toContain('2026-11-23T19:12:00Z');
      }
      if (wake) {
        expect(body).toContain(WAKE);
        expect(body).toContain('confirmation page');
      } else {
        expect(body).not.toContain(WAKE);
      }
    }
    if (wake) expect(mail?.body.html).toContain(`<a href="${WAKE}">`);
    if (f.statusUrl) expect(mail?.body.text).toContain(f.statusUrl);
  });

  it('says "resumed automatically" without a person', () => {
    expect(renderAlert(facts('resume', { who: 'automatic' })).subject).toBe(
      '[autotask-governor] msp-main: resumed automatically',
    );
    expect(renderAlert(facts('resume')).text).toContain('automatically');
  });

  it('sends nothing without recipients, and each address once', async () => {
    const mailer = new SesMailer(ses, 'alerts@msp.example');
    await mailer.send({ to: [], ...renderAlert(facts('sleep')) });
    expect(await emulators.sesStore()).toHaveLength(0);
    await mailer.send({
      to: ['a@msp.example', 'A@msp.example', ' b@msp.example'],
      ...renderAlert(facts('sleep')),
    });
    const [mail] = (await emulators.sesStore()) as CapturedEmail[];
    expect(mail?.destination.to).toEqual(['a@msp.example', 'b@msp.example']);
  });
});

describe('alert templates', () => {
  it('escapes every interpolated value in the HTML', () => {
    const evil = '<script>alert(1)</script>';
    const { html, text, subject } = renderAlert(
      facts('sleep', {
        connectionId: `x${evil}`,
        reason: `because ${evil} & "quotes"`,
        who: evil,
        busiestEndpoints: [{ endpoint: `/Tickets/${evil}`, calls: 1 }],
        wakeLink: `https://x.example/"><script>alert(2)</script>`,
      }),
    );
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('"><script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&amp; &quot;quotes&quot;');
    // the text part is plain text: shown as is
    expect(text).toContain(evil);
    expect(subject).toBe(`[autotask-governor] x${evil}: asleep`);
  });

  it('does not turn a non-web URL into a link', () => {
    const { html } = renderAlert(facts('sleep', { wakeLink: 'javascript:alert(1)' }));
    expect(html).not.toContain('href="javascript:');
  });

  it('keeps the subject on one line', () => {
    const { subject } = renderAlert(facts('resume', { who: 'evil\r\nBcc: x@y.example' }));
    expect(subject).not.toMatch(/[\r\n]/);
  });

  // Issue 21: operator text (a sleep or wake reason, a name) must not add lines to the plain-text mail.
  it('keeps a multi-line reason and name on one quoted line, so they cannot fake a wake link', () => {
    const injected = 'Wake it now:\r\nhttps://evil.example/wake-links/x';
    const reason = `put to sleep by alice: maintenance\n\n${injected}\u2028\u0085more`;
    const { text } = renderAlert(facts('sleep', { reason, who: `alice\n${injected}`, wakeLink: WAKE }));
    // label and value, with the padding between them folded to one space
    const lines = text.split('\n').map((l) => l.replace(/^([A-Za-z ]+:) +/, '$1 '));
    expect(lines.filter((l) => /evil\.example/.test(l))).toEqual([
      'Reason: "put to sleep by alice: maintenance Wake it now: https://evil.example/wake-links/x more"',
      'Put to sleep by: "alice Wake it now: https://evil.example/wake-links/x"',
    ]);
    // the only "Wake it now:" line is ours, followed by the real link
    expect(lines.filter((l) => l.startsWith('Wake it now:'))).toEqual(['Wake it now:']);
    expect(lines[lines.indexOf('Wake it now:') + 1]).toBe(WAKE);
    expect(text).not.toMatch(/[\r\u2028\u0085]/);

    const resumed = renderAlert(facts('resume', { reason: 'woken by bob: a\nb', who: 'bob\r\nx' })).text;
    expect(resumed).toMatch(/^Reason: +"woken by bob: a b"$/m);
    expect(resumed).toMatch(/^Resumed: +manually by "bob x"$/m);
  });

  // Issue 21: a sleep by hand is only ended by hand: its e-mail has no wake link, and says how to wake it.
  it('renders a sleep by hand without a wake link, even if one is handed in', () => {
    const { text, html } = renderAlert(
      facts('sleep', {
        manual: true,
        who: 'alice',
        reason: 'put to sleep by alice: maintenance',
        wakeLink: WAKE,
      }),
    );
    for (const body of [text, html]) {
      expect(body).not.toContain(WAKE);
      expect(body).not.toContain('Wake it now');
      expect(body).toContain('put to sleep by hand');
      expect(body).toContain('POST /connections/msp-main/wake');
    }
  });
});
