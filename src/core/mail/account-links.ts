import { clearUtcTime, lifetimeText } from './dates';
import type { MailMessage } from './mailer';
import type { MailTemplateName, MailTemplates, MailView } from './templates';

/** The pages an emailed link opens, on the hosted account pages or the operator's own frontend. */
export type AccountPage = '/invitations/accept' | '/password/reset' | '/email/verify';

/**
 * `base` is ACCOUNT_LINKS_BASE_URL (no trailing slash). Appended, not resolved as a URL, so that
 * a base path (`https://app.example.com/account`) and a hash route (`https://app.example.com/#`) stay.
 */
export function accountLink(base: string, page: AccountPage, token: string): string {
  return `${base}${page}?token=${encodeURIComponent(token)}`;
}

/** What every emailed link is: a single-use token for one address, valid until `expiresAt`. */
export type EmailedLink = { to: string; token: string; expiresAt: Date; lifetimeSeconds: number };

/** The variables every link message shares, filled in here; `view` holds the message's own. */
type LinkVariables = 'recipientEmail' | 'actionUrl' | 'expiresAt' | 'expiresIn';

/** A message carrying a link to an account page (the outbox logs the link outside production only). */
export function linkMessage<M extends MailTemplateName>(
  templates: MailTemplates,
  linksBase: string,
  message: M,
  page: AccountPage,
  link: EmailedLink,
  view: Omit<MailView<M>, LinkVariables>,
): MailMessage {
  const url = accountLink(linksBase, page, link.token);
  const shared = {
    recipientEmail: link.to,
    actionUrl: url,
    expiresAt: clearUtcTime(link.expiresAt),
    expiresIn: lifetimeText(link.lifetimeSeconds),
  };
  return { to: link.to, link: url, ...templates.render(message, { ...view, ...shared } as MailView<M>) };
}
