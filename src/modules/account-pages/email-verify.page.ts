import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isUniqueViolation } from '../../core/db/pg-errors';
import { AppError } from '../../core/errors/app-error';
import { verificationTokenStatus, type VerificationTokenStatus } from '../email-verification/verification-token-status';
import { postForm, problemsAlert, statusMessage, type Problems } from './forms';
import { html } from './html';
import { tokenParameter, withToken, type PageKit } from './page-kit';

const PATH = '/email/verify';
const ASK_AGAIN = html`<p>
  Ask for a new link from the app you use with this account (or, for a change of address, make the change again), or ask
  an admin of your organization to help. <a href="/sign-in">Sign in</a>
</p>`;

function sendUnusable(kit: PageKit, reply: FastifyReply, status: VerificationTokenStatus | null) {
  if (!status) {
    return kit.send(reply, 404, {
      page: 'email-verify',
      state: 'invalid',
      title: 'This verification link does not work',
      body: html`<p>
          The link is not a valid verification link: it may be incomplete or mistyped. Open it again from the email.
        </p>
        ${ASK_AGAIN}`,
    });
  }
  const expired = status.state === 'expired';
  return kit.send(reply, 410, {
    page: 'email-verify',
    state: expired ? 'expired' : 'used',
    title: expired ? 'This verification link has expired' : 'This verification link was already used',
    body: html`<p>
        ${
          expired
            ? 'Verification links work for a limited time after they are sent.'
            : 'Each verification link works once. If you followed it before, your address is verified already.'
        }
      </p>
      ${ASK_AGAIN}`,
  });
}

/**
 * The one-button confirmation. A GET must not spend the link (mail scanners fetch links), so the
 * page posts itself with auto-submit.js; without scripts the person presses the button.
 */
function sendConfirm(
  kit: PageKit,
  reply: FastifyReply,
  token: string,
  status: VerificationTokenStatus,
  refused?: { status: number; problems: Problems },
) {
  return kit.send(reply, refused?.status ?? 200, {
    page: 'email-verify',
    state: 'confirm',
    title: status.isChange ? 'Confirm your new email address' : 'Verify your email address',
    scripts: refused ? [] : ['auto-submit.js'],
    body: html`${refused ? problemsAlert(refused.problems, {}) : null}
      <p>
        ${status.isChange ? 'Switch the account to' : 'Confirm that you control'}
        <strong data-field="user-email">${status.email ?? ''}</strong>.
      </p>
      ${postForm({
        action: withToken(PATH, token),
        csrf: kit.csrf(reply),
        submit: status.isChange ? 'Confirm new address' : 'Verify address',
        autoSubmit: !refused,
      })}`,
  });
}

async function visitOf(kit: PageKit, request: FastifyRequest) {
  const token = tokenParameter(request);
  const status = token ? await verificationTokenStatus(kit.deps.db.manager, token) : null;
  return { token, status };
}

/** `/email/verify?token=`: GET asks for confirmation; POST spends the link as verifyEmail does. */
export function emailVerifyRoutes(app: FastifyInstance, kit: PageKit): void {
  const { db, services } = kit.deps;

  app.get(PATH, async (request, reply) => {
    const { token, status } = await visitOf(kit, request);
    if (!token || status?.state !== 'usable') return sendUnusable(kit, reply, status);
    return sendConfirm(kit, reply, token, status);
  });

  app.post(PATH, async (request, reply) => {
    await services.rateLimits.consume(['verifyEmailPerIp', request.scope.ipAddress]);
    const { token, status } = await visitOf(kit, request);
    if (!token || status?.state !== 'usable') return sendUnusable(kit, reply, status);
    const principal = await kit.sessions.current(request, reply);
    const service = services.emailVerification;
    try {
      const notice = await db.transaction((tx) => service.verify(tx, token, kit.sessions.actor(request, principal)));
      if (notice) service.sendInBackground(notice);
    } catch (error) {
      if (error instanceof AppError && error.key === 'email.verification_invalid') {
        return sendUnusable(kit, reply, await verificationTokenStatus(db.manager, token));
      }
      if (!isUniqueViolation(error, 'users_email_lower_key')) throw error;
      const message = new AppError('user.email_in_use').message;
      return sendConfirm(kit, reply, token, status, { status: 409, problems: { fields: {}, general: [message] } });
    }
    return kit.send(reply, 200, {
      page: 'email-verify',
      state: 'verified',
      title: 'Email address verified',
      body: html`${statusMessage(html`<strong data-field="user-email">${status.email ?? ''}</strong> is verified${status.isChange ? ' and is now the address of your account' : ''}.`)}
        <p><a href="/sign-in">Continue to your account</a></p>`,
    });
  });
}
