import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors/app-error';
import { ResetPasswordArgs } from '../passwords/passwords.inputs';
import { resetTokenStatus, type ResetTokenStatus } from '../passwords/reset-token-status';
import {
  NO_PROBLEMS,
  field,
  formValue,
  hasProblems,
  invalidProperties,
  postForm,
  problemsAlert,
  statusMessage,
  unsafeFields,
  type Problems,
} from './forms';
import { html } from './html';
import { tokenParameter, withToken, type PageKit } from './page-kit';
import { formRefusal, inputProblems } from './service-errors';

const PATH = '/password/reset';
const LABELS = { password: 'New password' };
const ASK_AGAIN = html`<p>
  <a href="/password/forgot">Ask for a new link</a>, or ask an admin of your organization to help.
</p>`;

/**
 * Expired, used or unknown: a link that cannot set a password, and how to get one that can. A used
 * link answering a submission may well be the second of a double click whose first one worked.
 */
function sendUnusable(kit: PageKit, reply: FastifyReply, status: ResetTokenStatus | null, { submitted = false } = {}) {
  if (!status) {
    return kit.send(reply, 404, {
      page: 'password-reset',
      state: 'invalid',
      title: 'This reset link does not work',
      body: html`<p>
          The link is not a valid password reset link: it may be incomplete or mistyped. Open it again from the email.
        </p>
        ${ASK_AGAIN}`,
    });
  }
  const expired = status.state === 'expired';
  return kit.send(reply, 410, {
    page: 'password-reset',
    state: expired ? 'expired' : 'used',
    title: expired ? 'This reset link has expired' : 'This reset link was already used',
    body: html`<p>
        ${
          expired
            ? 'Reset links work for one hour after they are sent.'
            : 'Each reset link works once, and a newer password also retires older links.'
        }
      </p>
      ${
        submitted && !expired
          ? html`<p>
              If you just submitted this form, your new password may already be set:
              <a href="/sign-in">try signing in</a>.
            </p>`
          : null
      }
      ${ASK_AGAIN}`,
  });
}

function sendForm(
  kit: PageKit,
  reply: FastifyReply,
  token: string,
  status: ResetTokenStatus,
  options: { status?: number; problems?: Problems } = {},
) {
  const problems = options.problems ?? NO_PROBLEMS;
  return kit.send(reply, options.status ?? 200, {
    page: 'password-reset',
    state: 'form',
    title: 'Choose a new password',
    body: html`${status.email ? html`<p>For the account <strong data-field="user-email">${status.email}</strong>. Every session of the account ends when the password changes.</p>` : null}
    ${problemsAlert(problems, LABELS)}
    ${postForm({
      action: withToken(PATH, token),
      csrf: kit.csrf(reply),
      submit: 'Set new password',
      content: field(
        { name: 'password', label: LABELS.password, type: 'password', autocomplete: 'new-password' },
        problems,
      ),
    })}`,
  });
}

async function visitOf(kit: PageKit, request: FastifyRequest) {
  const token = tokenParameter(request);
  const status = token ? await resetTokenStatus(kit.deps.db.manager, token) : null;
  return { token, status };
}

/** `/password/reset?token=`: GET shows the form; POST spends the link as resetPassword does. */
export function passwordResetRoutes(app: FastifyInstance, kit: PageKit): void {
  const { db, services } = kit.deps;

  app.get(PATH, async (request, reply) => {
    const { token, status } = await visitOf(kit, request);
    if (!token || status?.state !== 'usable') return sendUnusable(kit, reply, status);
    return sendForm(kit, reply, token, status);
  });

  app.post(PATH, async (request, reply) => {
    const token = tokenParameter(request);
    await services.rateLimits.consume(
      ['resetPasswordPerIp', request.scope.ipAddress],
      ['resetPasswordPerToken', token],
    );
    const { status } = await visitOf(kit, request);
    if (!token || status?.state !== 'usable') return sendUnusable(kit, reply, status, { submitted: true });
    const newPassword = formValue(request.body, 'password');
    const problems = inputProblems(
      { password: newPassword },
      await invalidProperties(Object.assign(new ResetPasswordArgs(), { token, newPassword })),
      unsafeFields({ password: newPassword }),
      { newPassword: true },
    );
    if (hasProblems(problems)) return sendForm(kit, reply, token, status, { status: 400, problems });
    const principal = await kit.sessions.current(request, reply);
    try {
      await db.transaction((tx) =>
        services.passwords.resetPassword(tx, { token, newPassword }, kit.sessions.actor(request, principal)),
      );
    } catch (error) {
      if (error instanceof AppError && error.key === 'password.invalid_reset_token') {
        return sendUnusable(kit, reply, await resetTokenStatus(db.manager, token), { submitted: true });
      }
      const refusal = formRefusal(error, ['password']);
      if (!refusal) throw error;
      return sendForm(kit, reply, token, status, refusal);
    }
    return kit.send(reply, 200, {
      page: 'password-reset',
      state: 'done',
      title: 'Your password was changed',
      body: html`${statusMessage('Your new password is set, and every session of the account has ended.')}
        <p><a href="/sign-in">Sign in with your new password</a></p>`,
    });
  });
}
