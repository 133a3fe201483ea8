import { linkMessage, type EmailedLink } from '../../core/mail/account-links';
import { clearUtcTime } from '../../core/mail/dates';
import type { MailMessage } from '../../core/mail/mailer';
import type { MailTemplates } from '../../core/mail/templates';

/** A link to /email/verify; `orgName` is the account's default org, which the reader may know the service by. */
export type VerificationLink = EmailedLink & { orgName: string | null };

function verifyLinkMessage(
  templates: MailTemplates,
  linksBase: string,
  message: 'email-verification' | 'email-change-confirmation',
  link: VerificationLink,
): MailMessage {
  return linkMessage(templates, linksBase, message, '/email/verify', link, { orgName: link.orgName });
}

/** Proves the account's current address (the outbox logs the link outside production only). */
export function verifyEmailMessage(templates: MailTemplates, linksBase: string, link: VerificationLink): MailMessage {
  return verifyLinkMessage(templates, linksBase, 'email-verification', link);
}

/** Sent to the new address: following it is what switches the account over. */
export function confirmNewEmailMessage(
  templates: MailTemplates,
  linksBase: string,
  link: VerificationLink,
): MailMessage {
  return verifyLinkMessage(templates, linksBase, 'email-change-confirmation', link);
}

/**
 * Sent to the former address once the switch is made, so a hijacked account does not change
 * silently. It carries no link: nothing at the former address can undo the change.
 */
export function emailChangedNotice(
  templates: MailTemplates,
  notice: { to: string; newEmail: string; orgName: string | null; changedAt: Date },
): MailMessage {
  return {
    to: notice.to,
    ...templates.render('email-changed', {
      recipientEmail: notice.to,
      orgName: notice.orgName,
      newEmail: notice.newEmail,
      changedAt: clearUtcTime(notice.changedAt),
    }),
  };
}
