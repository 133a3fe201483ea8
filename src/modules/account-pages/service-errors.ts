import { assertAcceptablePassword } from '../../core/crypto/password-policy';
import { AppError } from '../../core/errors/app-error';
import { errorCatalog } from '../../core/errors/error-codes';
import { RateLimitedError } from '../../core/rate-limit/rate-limited-error';
import { type FieldName, type Problems } from './forms';

/** API argument names as the pages' fields are named. */
const FIELD_OF: Record<string, FieldName> = {
  email: 'email',
  password: 'password',
  newPassword: 'password',
  firstName: 'firstName',
  lastName: 'lastName',
};

/**
 * A service's refusal of what a person typed, as form problems and a status: the catalog message,
 * on the field at fault when the form shows it. Anything else (too many attempts, an outage, a
 * fault) is not the form's to show: null, and the caller throws it on to the page error handler.
 */
export function formRefusal(
  error: unknown,
  shown: readonly FieldName[],
): { problems: Problems; status: number } | null {
  if (!(error instanceof AppError) || error instanceof RateLimitedError) return null;
  if (error.publicCode === 'SERVICE_UNAVAILABLE' || error.publicCode === 'INTERNAL_SERVER_ERROR') return null;
  const field = FIELD_OF[String(error.extensions.field)];
  const problems: Problems =
    field && shown.includes(field)
      ? { fields: { [field]: error.message }, general: [] }
      : { fields: {}, general: [error.message] };
  const status = error.publicCode === 'CONFLICT' ? 409 : error.publicCode === 'UNAUTHENTICATED' ? 401 : 400;
  return { problems, status };
}

/**
 * The problems of missing and malformed values, before any service is asked; with `newPassword`,
 * the password policy's verdict too, so one submission shows every problem at once (the service
 * applies the policy again).
 */
export function inputProblems(
  values: Partial<Record<FieldName, string>>,
  invalid: readonly string[],
  unsafe: readonly FieldName[],
  { newPassword = false } = {},
): Problems {
  const fields: Problems['fields'] = {};
  for (const [name, value] of Object.entries(values) as Array<[FieldName, string]>) {
    // Spaces are a password's own business: the policy, not this check, judges them.
    if ((name === 'password' ? value : value.trim()) === '') fields[name] = errorCatalog['page.field_required'].message;
    else if (unsafe.includes(name)) fields[name] = errorCatalog['request.unsafe_text'].message;
    else if (invalid.some((property) => FIELD_OF[property] === name))
      fields[name] = errorCatalog['request.invalid_value'].message;
  }
  if (newPassword && values.password && !fields.password) {
    try {
      assertAcceptablePassword(values.password);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      fields.password = error.message;
    }
  }
  return { fields, general: [] };
}
