import type { FastifyInstance, FastifyReply } from 'fastify';
import { emailLimitKey } from '../../core/rate-limit/email';
import { RequestPasswordResetArgs } from '../passwords/passwords.inputs';
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
import type { PageKit } from './page-kit';
import { inputProblems } from './service-errors';

const PATH = '/password/forgot';
const LABELS = { email: 'Email address' };

function sendForm(kit: PageKit, reply: FastifyReply, status = 200, email = '', problems: Problems = NO_PROBLEMS) {
  return kit.send(reply, status, {
    page: 'password-forgot',
    state: 'form',
    title: 'Reset your password',
    body: html`<p>Enter the email address of your account, and we will send you a link to choose a new password.</p>
      ${problemsAlert(problems, LABELS)}
      ${postForm({
        action: PATH,
        csrf: kit.csrf(reply),
        submit: 'Send reset link',
        content: field(
          { name: 'email', label: LABELS.email, type: 'email', autocomplete: 'email', value: email },
          problems,
        ),
      })}`,
  });
}

/**
 * `/password/forgot`: asks for a reset link as requestPasswordReset does, with the same answer
 * whether or not the address has an account.
 */
export function passwordForgotRoutes(app: FastifyInstance, kit: PageKit): void {
  const { db, services } = kit.deps;

  app.get(PATH, (_request, reply) => sendForm(kit, reply));

  app.post(PATH, async (request, reply) => {
    const email = formValue(request.body, 'email').trim();
    const problems = inputProblems(
      { email },
      await invalidProperties(Object.assign(new RequestPasswordResetArgs(), { email })),
      unsafeFields({ email }),
    );
    if (hasProblems(problems)) return sendForm(kit, reply, 400, email, problems);
    // Counted whether or not the address has an account, so a refusal tells nothing.
    await services.rateLimits.consume(
      ['resetRequestPerIp', request.scope.ipAddress],
      ['resetRequestPerEmail', await emailLimitKey(db, email)],
    );
    const principal = await kit.sessions.current(request, reply);
    const delivery = await db.transaction((tx) =>
      services.passwords.requestReset(tx, email, kit.sessions.actor(request, principal)),
    );
    // Only after the commit, so no link goes out for a token that was rolled back.
    if (delivery) services.passwords.sendInBackground(delivery);
    return kit.send(reply, 200, {
      page: 'password-forgot',
      state: 'sent',
      title: 'Check your email',
      body: html`${statusMessage(
          html`If an account exists for <strong data-field="user-email">${email}</strong>, a link to choose a new
            password is on its way. It works for one hour.`,
        )}
        <p><a href="/sign-in">Back to sign in</a></p>`,
    });
  });
}
