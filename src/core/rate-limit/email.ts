/**
 * The one spelling of an email that per-email limits count: trimmed, Unicode NFC and lowercased,
 * whether or not an account has that address, so a limit never tells whether one exists.
 */
export function normalisedEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}
