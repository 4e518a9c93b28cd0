import { Stack } from 'aws-cdk-lib';
import { EmailIdentity, Identity } from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export interface AlertsProps {
  readonly senderEmail: string;
  /** false when the address or its domain is already a verified identity in this account and region. */
  readonly createSenderIdentity: boolean;
  readonly alertRecipients: readonly string[];
}

/**
 * Alert e-mails through SES: the sender identity and the identity ARNs the functions may send as.
 *
 * Creating the e-mail identity makes SES send the verification mail to the sender address; until
 * it is confirmed, sends fail (and are logged) but nothing else breaks. The send permission covers
 * the sender's identity only, plus - because SES in the sandbox also authorizes the send against
 * each recipient's identity - the configured admin recipients (README.md, "Deploy").
 */
export class Alerts extends Construct {
  public readonly senderEmail: string;
  public readonly senderIdentity: EmailIdentity | undefined;
  /** Identity ARNs ses:SendEmail is scoped to. */
  public readonly identityArns: readonly string[];
  public readonly alertRecipients: readonly string[];

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const identityArn = (identity: string) =>
      stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity });
    this.senderEmail = props.senderEmail;
    this.alertRecipients = props.alertRecipients;
    const domain = props.senderEmail.slice(props.senderEmail.lastIndexOf('@') + 1);
    if (props.createSenderIdentity) {
      this.senderIdentity = new EmailIdentity(this, 'SenderIdentity', {
        identity: Identity.email(props.senderEmail),
      });
    }
    this.identityArns = [
      this.senderIdentity?.emailIdentityArn ?? identityArn(props.senderEmail),
      // An existing setup may have verified the whole domain rather than the address.
      ...(props.createSenderIdentity ? [] : [identityArn(domain)]),
      ...props.alertRecipients.filter((r) => r !== props.senderEmail).map(identityArn),
    ];
  }
}
