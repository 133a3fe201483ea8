import { accountLink } from '../../core/mail/account-links';
import { clearUtcTime, lifetimeText } from '../../core/mail/dates';
import type { MailMessage } from '../../core/mail/mailer';
import type { MailTemplates } from '../../core/mail/templates';

export type ResetEmail = {
  to: string;
  /** The account's default org, which the reader may know the service by. */
  orgName: string | null;
  token: string;
  expiresAt: Date;
  lifetimeSeconds: number;
};

/** The message carrying a reset link (the outbox logs it outside production only). */
export function resetPasswordEmail(templates: MailTemplates, linksBase: string, reset: ResetEmail): MailMessage {
  const url = accountLink(linksBase, '/password/reset', reset.token);
  return {
    to: reset.to,
    link: url,
    ...templates.render('password-reset', {
      recipientEmail: reset.to,
      orgName: reset.orgName,
      actionUrl: url,
      expiresAt: clearUtcTime(reset.expiresAt),
      expiresIn: lifetimeText(reset.lifetimeSeconds),
    }),
  };
}
