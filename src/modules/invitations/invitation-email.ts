import { renderEmail } from '../../core/mail/template';

export type InvitationEmail = {
  orgName: string;
  inviterName: string;
  message: string | null;
  url: string;
  expiresAt: Date;
};

export function invitationEmail({ orgName, inviterName, message, url, expiresAt }: InvitationEmail) {
  return renderEmail({
    subject: `You are invited to join ${orgName}`,
    paragraphs: [
      `${inviterName} invited you to join ${orgName} on Portcullis.`,
      ...(message ? [`Their message: “${message}”`] : []),
      `The invitation expires on ${expiresAt.toUTCString()}.`,
    ],
    action: { label: 'Accept the invitation', url },
    footer: 'If you did not expect this invitation, you can ignore this email.',
  });
}
