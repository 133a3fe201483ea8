import commonPasswords from '@zxcvbn-ts/language-common/src/passwords.json';
import { AppError } from '../errors/app-error';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 128;

/** The ~49,000 most common passwords of zxcvbn-ts's bundled list, lower-cased. */
const COMMON = new Set((commonPasswords as string[]).map((password) => password.toLowerCase()));

/**
 * NIST SP 800-63B style: length 12–128 characters (Unicode code points, after NFC), any
 * characters, no composition rules, and not a known common password. Throws BAD_USER_INPUT.
 */
export function assertAcceptablePassword(password: string, field = 'password'): void {
  const normalized = password.normalize('NFC');
  const length = [...normalized].length;
  if (length < MIN_PASSWORD_LENGTH) throw new AppError('password.too_short', { field });
  if (length > MAX_PASSWORD_LENGTH) throw new AppError('password.too_long', { field });
  if (COMMON.has(normalized.toLowerCase())) throw new AppError('password.too_common', { field });
}
