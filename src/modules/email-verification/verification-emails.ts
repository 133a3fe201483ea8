import type { MailMessage } from '../../core/mail/mailer';
import { renderEmail } from '../../core/mail/template';

function verifyUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/email/verify?token=${encodeURIComponent(token)}`;
}

function validity(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  return hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : `${Math.max(1, Math.floor(seconds / 60))} minutes`;
}

/** Proves the account's current address (the outbox logs the link outside production only). */
export function verifyEmailMessage(to: string, publicUrl: string, token: string, validSeconds: number): MailMessage {
  const url = verifyUrl(publicUrl, token);
  return {
    to,
    link: url,
    ...renderEmail({
      subject: 'Verify your Portcullis email address',
      paragraphs: [
        'Someone asked to verify this address for a Portcullis account.',
        `If it was you, follow the link below. It works once, within ${validity(validSeconds)}.`,
      ],
      action: { label: 'Verify this address', url },
      footer: 'If you did not ask for this, ignore this email.',
    }),
  };
}

/** Sent to the new address: following it is what switches the account over. */
export function confirmNewEmailMessage(
  to: string,
  publicUrl: string,
  token: string,
  validSeconds: number,
): MailMessage {
  const url = verifyUrl(publicUrl, token);
  return {
    to,
    link: url,
    ...renderEmail({
      subject: 'Confirm your new Portcullis email address',
      paragraphs: [
        'Someone asked to make this the email address of their Portcullis account.',
        `If it was you, follow the link below to confirm it. It works once, within ${validity(validSeconds)}; until then the account keeps its current address.`,
      ],
      action: { label: 'Use this address', url },
      footer: 'If you did not ask for this, ignore this email: nothing changes.',
    }),
  };
}

/** Sent to the former address once the switch is made, so a hijacked account does not change silently. */
export function emailChangedNotice(to: string, newEmail: string, publicUrl: string): MailMessage {
  return {
    to,
    ...renderEmail({
      subject: 'Your Portcullis email address was changed',
      paragraphs: [
        `The email address of your Portcullis account was changed from this address to ${newEmail}.`,
        'If you did this, there is nothing to do. If not, someone else may control your account: tell your administrator at once.',
      ],
      action: { label: 'Open Portcullis', url: publicUrl },
      footer: 'This message went to your former address; mail about the account now goes to the new one.',
    }),
  };
}
