import type { MailMessage } from '../../core/mail/mailer';
import { renderEmail } from '../../core/mail/template';

/** The message carrying a reset link (the outbox logs it outside production only). */
export function resetPasswordEmail(to: string, publicUrl: string, token: string, validMinutes: number): MailMessage {
  const url = `${publicUrl}/password/reset?token=${encodeURIComponent(token)}`;
  return {
    to,
    link: url,
    ...renderEmail({
      subject: 'Reset your Portcullis password',
      paragraphs: [
        'Someone asked to reset the password of your Portcullis account.',
        `If it was you, follow the link below to choose a new one. It works once, within ${validMinutes} minutes, and signs you out everywhere.`,
      ],
      action: { label: 'Choose a new password', url },
      footer: 'If you did not ask for this, ignore this email: your password stays as it is.',
    }),
  };
}
