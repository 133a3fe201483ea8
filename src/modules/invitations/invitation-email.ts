import { accountLink } from '../../core/mail/account-links';
import { clearUtcTime, lifetimeText } from '../../core/mail/dates';
import type { MailMessage } from '../../core/mail/mailer';
import type { MailTemplates } from '../../core/mail/templates';

export type InvitationEmail = {
  to: string;
  orgName: string;
  inviterName: string;
  roleName: string;
  message: string | null;
  token: string;
  expiresAt: Date;
  lifetimeSeconds: number;
};

/** The invitation to an address (the outbox logs its link outside production only). */
export function invitationEmail(templates: MailTemplates, linksBase: string, invitation: InvitationEmail): MailMessage {
  const url = accountLink(linksBase, '/invitations/accept', invitation.token);
  return {
    to: invitation.to,
    link: url,
    ...templates.render('invitation', {
      recipientEmail: invitation.to,
      orgName: invitation.orgName,
      inviterName: invitation.inviterName,
      roleName: invitation.roleName,
      message: invitation.message,
      actionUrl: url,
      expiresAt: clearUtcTime(invitation.expiresAt),
      expiresIn: lifetimeText(invitation.lifetimeSeconds),
    }),
  };
}
