import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';

export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** SES accepts at most 50 recipients per message. */
const MAX_RECIPIENTS = 50;

/**
 * Alert e-mails through SES v2, as a multipart text + HTML message. Recipients are de-duplicated
 * (a connection's own recipients and the stack's admins may overlap) and sent in groups of 50.
 */
export class SesMailer implements Mailer {
  constructor(
    private readonly ses: SESv2Client,
    private readonly from: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const seen = new Set<string>();
    const to = message.to
      .map((address) => address.trim())
      .filter((address) => {
        const key = address.toLowerCase();
        if (address === '' || seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    // A connection without recipients is normal (alerts are optional): nothing to send.
    for (let i = 0; i < to.length; i += MAX_RECIPIENTS) {
      await this.ses.send(
        new SendEmailCommand({
          FromEmailAddress: this.from,
          Destination: { ToAddresses: to.slice(i, i + MAX_RECIPIENTS) },
          Content: {
            Simple: {
              // Header values cannot hold line breaks.
              Subject: { Data: message.subject.replace(/[\r\n]+/g, ' '), Charset: 'UTF-8' },
              Body: {
                Text: { Data: message.text, Charset: 'UTF-8' },
                Html: { Data: message.html, Charset: 'UTF-8' },
              },
            },
          },
        }),
      );
    }
  }
}
