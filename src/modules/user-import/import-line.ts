import { isEmail } from 'class-validator';
import { assertAcceptablePassword } from '../../core/crypto/password-policy';
import { AppError } from '../../core/errors/app-error';
import { restoreFormula } from './formula-cells';
import type { CsvRow } from './import-csv';

/**
 * One row, checked on its own. A blank or absent optional cell leaves that detail unchanged for
 * an existing member (a new one gets no name, the viewer role, no groups and no teams), so a
 * file that lists only some columns never erases the others.
 */
export type ImportLine = {
  line: number;
  email: string;
  firstName?: string;
  lastName?: string;
  /** A role key or name. */
  role?: string;
  groups?: string[];
  teams?: string[];
  /** Used only when the import creates the account. */
  password?: string;
  /** Makes a new account a CUSTOMER; an existing member's must match; ignored for an invitation. */
  customerId?: string;
};

const MAX_EMAIL_LENGTH = 320;
const MAX_NAME_LENGTH = 100;
const MAX_CUSTOMER_ID_LENGTH = 200;

/** Throws an AppError naming what is wrong with the row. */
export function readImportLine({ line, cells }: CsvRow): ImportLine {
  const email = text(cells.email);
  if (!email) {
    throw new AppError('import.invalid_email', {
      message: 'An email address is required (service accounts, which have none, cannot be imported)',
    });
  }
  if (email.length > MAX_EMAIL_LENGTH || !isEmail(email)) {
    throw new AppError('import.invalid_email', { message: `Invalid email address "${email}"` });
  }
  // Passwords are taken exactly as written: spaces at either end are part of them.
  const password = cells.password || undefined;
  if (password) assertAcceptablePassword(password);
  return {
    line,
    email,
    firstName: limited('firstName', text(cells.firstName), MAX_NAME_LENGTH),
    lastName: limited('lastName', text(cells.lastName), MAX_NAME_LENGTH),
    role: limited('role', text(cells.role), MAX_NAME_LENGTH),
    groups: nameList(cells.groups),
    teams: nameList(cells.teams),
    password,
    customerId: limited('customerId', text(cells.customerId), MAX_CUSTOMER_ID_LENGTH),
  };
}

/** The email cell as written (trimmed), whether or not it is a valid address. */
export function emailCellOf({ cells }: CsvRow): string | undefined {
  return text(cells.email);
}

/** The email as lines are compared for duplicates: trimmed and lower-cased. */
export function emailKeyOf(row: CsvRow): string | undefined {
  return emailCellOf(row)?.toLowerCase();
}

function text(cell: string | undefined): string | undefined {
  return restoreFormula(cell?.trim() ?? '').trim() || undefined;
}

function limited(column: string, value: string | undefined, max: number): string | undefined {
  if (value && [...value].length > max) {
    throw new AppError('import.invalid_value', { message: `${column} must be at most ${max} characters` });
  }
  return value;
}

/** Names separated by `;`, case-insensitively distinct. */
function nameList(cell: string | undefined): string[] | undefined {
  const names = text(cell)
    ?.split(';')
    .map((name) => name.trim())
    .filter(Boolean);
  if (!names?.length) return undefined;
  const byKey = new Map(names.map((name) => [name.toLowerCase(), name] as const));
  return [...byKey.values()];
}
