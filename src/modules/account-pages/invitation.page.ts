import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import type { SignedIn } from '../auth/auth.service';
import { AcceptInvitationInput } from '../invitations/invitation.inputs';
import { InvitationKind } from '../invitations/invitation.entity';
import { previewInvitation } from '../invitations/invitation-preview';
import { UserEntity } from '../users/user.entity';
import { formValue, hasProblems, invalidProperties, unsafeFields, type FieldName } from './forms';
import { INVITATION_PATH, sendAccepted, sendOffer, sendUnusable, type Visit } from './invitation-views';
import { tokenParameter, type PageKit } from './page-kit';
import { formRefusal, inputProblems } from './service-errors';

/** The invitation stopped being usable meanwhile: answered as its state, not as a form problem. */
const isSpent = (error: unknown) => error instanceof AppError && error.key === 'invitation.invalid_token';

/** The invitation a request names, with whoever is signed in on the pages; null when unusable. */
async function visitOf(kit: PageKit, request: FastifyRequest, reply: FastifyReply) {
  const token = tokenParameter(request);
  const preview = token ? await previewInvitation(kit.deps.db.manager, token) : null;
  if (!token || !preview || preview.state !== 'usable') return { unusable: preview };
  const principal = await kit.sessions.current(request, reply);
  const user = principal ? await kit.deps.db.getRepository(UserEntity).findOneBy({ id: principal.userId }) : null;
  return { visit: { token, preview, principal, userEmail: user?.email ?? null } satisfies Visit };
}

/**
 * Accepts for the signed-in person, or for the account that just signed in with its password.
 * Accepting opens a session of its own, which the page keeps; the one it signed in with ends.
 */
async function acceptAs(
  kit: PageKit,
  request: FastifyRequest,
  reply: FastifyReply,
  visit: Visit,
  principal: Principal,
) {
  const signedIn = await kit.deps.services.invitations.accept(
    { token: visit.token },
    principal,
    kit.sessions.actor(request, principal),
  );
  kit.sessions.start(request, reply, signedIn);
  await kit.sessions.end(request, principal);
  return sendAccepted(kit, reply, visit.preview, signedIn);
}

async function signInAndAccept(kit: PageKit, request: FastifyRequest, reply: FastifyReply, visit: Visit) {
  const { services, authenticate } = kit.deps;
  const password = formValue(request.body, 'password');
  const problems = inputProblems({ password }, [], unsafeFields({ password }));
  if (hasProblems(problems)) return sendOffer(kit, reply, visit, { status: 400, problems });
  let signedIn: SignedIn;
  try {
    signedIn = await services.auth.login(
      { email: visit.preview.email as string, password },
      kit.sessions.actor(request, null),
    );
  } catch (error) {
    const refusal = formRefusal(error, ['password']);
    if (!refusal) throw error;
    return sendOffer(kit, reply, visit, refusal);
  }
  const principal = await authenticate(signedIn.accessToken, request.scope.ipAddress);
  if (!principal) throw new AppError('auth.invalid_token');
  try {
    return await acceptAs(kit, request, reply, visit, principal);
  } catch (error) {
    const refusal = isSpent(error) ? null : formRefusal(error, []);
    if (!refusal) throw error;
    // Signed in all the same: the page now offers to join as that account.
    kit.sessions.start(request, reply, signedIn);
    return sendOffer(kit, reply, { ...visit, principal, userEmail: signedIn.user.email }, refusal);
  }
}

async function createAndAccept(kit: PageKit, request: FastifyRequest, reply: FastifyReply, visit: Visit) {
  const isLink = visit.preview.kind === InvitationKind.LINK;
  const names = { firstName: formValue(request.body, 'firstName'), lastName: formValue(request.body, 'lastName') };
  const values = { ...(isLink ? { email: formValue(request.body, 'email') } : {}), ...names };
  const password = formValue(request.body, 'password');
  const input = Object.assign(new AcceptInvitationInput(), { token: visit.token, ...values, password });
  const problems = inputProblems(
    { ...values, password },
    await invalidProperties(input),
    unsafeFields({ ...values, password }),
    { newPassword: true },
  );
  if (hasProblems(problems)) return sendOffer(kit, reply, visit, { status: 400, problems, values });
  let signedIn: SignedIn;
  try {
    signedIn = await kit.deps.services.invitations.accept(input, null, kit.sessions.actor(request, null));
  } catch (error) {
    const shown: FieldName[] = isLink
      ? ['email', 'firstName', 'lastName', 'password']
      : ['firstName', 'lastName', 'password'];
    const refusal = isSpent(error) ? null : formRefusal(error, shown);
    if (!refusal) throw error;
    return sendOffer(kit, reply, visit, { ...refusal, values });
  }
  kit.sessions.start(request, reply, signedIn);
  return sendAccepted(kit, reply, visit.preview, signedIn);
}

async function acceptFromPage(kit: PageKit, request: FastifyRequest, reply: FastifyReply, visit: Visit) {
  if (visit.principal) {
    try {
      return await acceptAs(kit, request, reply, visit, visit.principal);
    } catch (error) {
      const refusal = isSpent(error) ? null : formRefusal(error, []);
      if (!refusal) throw error;
      return sendOffer(kit, reply, visit, refusal);
    }
  }
  if (visit.preview.kind === InvitationKind.EMAIL && visit.preview.accountExists) {
    return signInAndAccept(kit, request, reply, visit);
  }
  return createAndAccept(kit, request, reply, visit);
}

/**
 * `/invitations/accept?token=`: GET shows the invitation and changes nothing; POST accepts it,
 * under the same limits as the acceptInvitation mutation.
 */
export function invitationRoutes(app: FastifyInstance, kit: PageKit): void {
  app.get(INVITATION_PATH, async (request, reply) => {
    const { visit, unusable } = await visitOf(kit, request, reply);
    if (!visit) return sendUnusable(kit, reply, unusable ?? null);
    return sendOffer(kit, reply, visit);
  });

  app.post(INVITATION_PATH, async (request, reply) => {
    const token = tokenParameter(request);
    await kit.deps.services.rateLimits.consume(
      ['acceptInvitationPerIp', request.scope.ipAddress],
      ['acceptInvitationPerToken', token],
    );
    const { visit, unusable } = await visitOf(kit, request, reply);
    if (!visit) return sendUnusable(kit, reply, unusable ?? null);
    try {
      return await acceptFromPage(kit, request, reply, visit);
    } catch (error) {
      // Spent, withdrawn or expired since the page was read: say which, as a fresh visit would.
      if (!isSpent(error)) throw error;
      return sendUnusable(kit, reply, await previewInvitation(kit.deps.db.manager, visit.token));
    }
  });
}
