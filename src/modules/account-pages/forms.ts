import { validate } from 'class-validator';
import { MIN_PASSWORD_LENGTH } from '../../core/crypto/password-policy';
import { isSafeText } from '../../core/graphql/safe-text';
import { html, type Html } from './html';

export type FieldName = 'email' | 'password' | 'firstName' | 'lastName';

/** What was wrong with a submitted form: per field where one is at fault, else in general. */
export type Problems = { fields: Partial<Record<FieldName, string>>; general: string[] };

export const NO_PROBLEMS: Problems = { fields: {}, general: [] };

export function hasProblems(problems: Problems): boolean {
  return problems.general.length > 0 || Object.keys(problems.fields).length > 0;
}

export type FieldSpec = {
  name: FieldName;
  label: string;
  type: 'email' | 'password' | 'text';
  autocomplete: 'email' | 'username' | 'new-password' | 'current-password' | 'given-name' | 'family-name';
  value?: string | null;
  readonly?: boolean;
};

const HINTS: Partial<Record<FieldSpec['autocomplete'], string>> = {
  'new-password': `At least ${MIN_PASSWORD_LENGTH} characters; a long phrase is easiest to remember. Very common passwords are refused.`,
};

const idOf = (name: FieldName) => `field-${name}`;

/** One labelled input; its problem, if any, is shown above it and tied to it for screen readers. */
export function field(spec: FieldSpec, problems: Problems): Html {
  const id = idOf(spec.name);
  const hint = HINTS[spec.autocomplete];
  const problem = problems.fields[spec.name];
  const describedBy = [hint ? `${id}-hint` : null, problem ? `${id}-error` : null].filter(Boolean).join(' ');
  return html`<div class="field">
    <label for="${id}">${spec.label}</label>
    ${hint ? html`<p class="hint" id="${id}-hint">${hint}</p>` : null}
    ${problem ? html`<p class="field-error" id="${id}-error">${problem}</p>` : null}
    <input
      id="${id}"
      name="${spec.name}"
      type="${spec.type}"
      autocomplete="${spec.autocomplete}"
      ${spec.value ? html`value="${spec.value}"` : null}
      required
      ${spec.readonly ? html`readonly` : null}
      ${describedBy ? html`aria-describedby="${describedBy}"` : null}
      ${problem ? html`aria-invalid="true"` : null}
    />
  </div>`;
}

/** Every problem of a refused form, each linking to its field, in one alert read out at once. */
export function problemsAlert(problems: Problems, labels: Partial<Record<FieldName, string>>): Html | null {
  if (!hasProblems(problems)) return null;
  const items = [
    ...problems.general.map((message) => html`<li>${message}</li>`),
    ...(Object.entries(problems.fields) as Array<[FieldName, string]>).map(
      ([name, message]) => html`<li><a href="#${idOf(name)}">${labels[name] ?? name}: ${message}</a></li>`,
    ),
  ];
  return html`<div role="alert" class="alert">
    <p>${items.length === 1 ? 'There is a problem:' : 'There are problems:'}</p>
    <ul>
      ${items}
    </ul>
  </div>`;
}

export function statusMessage(message: Html | string): Html {
  return html`<div role="status" class="status">${message}</div>`;
}

/** A POST form back to this gateway, carrying the CSRF token, with exactly one submit button. */
export function postForm(options: {
  action: string;
  csrf: string;
  content?: Html | null;
  submit: string;
  secondary?: boolean;
  /** Sent by auto-submit.js as soon as the page loads (the email verification link). */
  autoSubmit?: boolean;
}): Html {
  return html`<form
    method="post"
    action="${options.action}"
    ${options.secondary ? html` class="secondary"` : null}${options.autoSubmit ? html` data-auto-submit` : null}
  >
    <input type="hidden" name="_csrf" value="${options.csrf}" />
    ${options.content ?? null}
    <button type="submit">${options.submit}</button>
  </form>`;
}

/** The submitted value of one form field: text, or empty when missing or repeated. */
export function formValue(body: unknown, name: string): string {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

/** Submitted text the database could not store or that is not what it looks like (safe-text.ts). */
export function unsafeFields(values: Partial<Record<FieldName, string>>): FieldName[] {
  return (Object.entries(values) as Array<[FieldName, string]>)
    .filter(([, value]) => !isSafeText(value))
    .map(([name]) => name);
}

/**
 * The properties of an API input object (e.g. AcceptInvitationInput) that break its constraints:
 * a form is held to the same lengths and formats as the GraphQL mutation it stands in for.
 */
export async function invalidProperties(input: object): Promise<string[]> {
  const errors = await validate(input, { skipMissingProperties: true, forbidUnknownValues: true });
  return errors.map((error) => error.property);
}
