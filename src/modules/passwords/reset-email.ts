import { linkMessage, type EmailedLink } from '../../core/mail/account-links';
import type { MailMessage } from '../../core/mail/mailer';
import type { MailTemplates } from '../../core/mail/templates';

/** `orgName` is the account's default org, which the reader may know the service by. */
export type ResetEmail = EmailedLink & { orgName: string | null };

/** The message carrying a reset link. */
export function resetPasswordEmail(templates: MailTemplates, linksBase: string, reset: ResetEmail): MailMessage {
  return linkMessage(templates, linksBase, 'password-reset', '/password/reset', reset, { orgName: reset.orgName });
}
