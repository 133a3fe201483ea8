import { linkMessage, type EmailedLink } from '../../core/mail/account-links';
import type { MailMessage } from '../../core/mail/mailer';
import type { MailTemplates } from '../../core/mail/templates';

export type InvitationEmail = EmailedLink & {
  orgName: string;
  inviterName: string;
  roleName: string;
  message: string | null;
};

/** The invitation to an address. */
export function invitationEmail(templates: MailTemplates, linksBase: string, invitation: InvitationEmail): MailMessage {
  const { orgName, inviterName, roleName, message } = invitation;
  return linkMessage(templates, linksBase, 'invitation', '/invitations/accept', invitation, {
    orgName,
    inviterName,
    roleName,
    message,
  });
}
