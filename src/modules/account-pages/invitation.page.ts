import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import type { SignedIn } from '../auth/auth.service';
import { AcceptInvitationInput } from '../invitations/invitation.inputs';
import { InvitationKind } from '../invitations/invitation.entity';
import { previewInvitation, type InvitationPreview } from '../invitations/invitation-preview';
import { MembershipEntity, MembershipStatus } from '../members/membership.entity';
import { UserEntity } from '../users/user.entity';
import { formValue, hasProblems, invalidProperties, unsafeFields, type FieldName } from './forms';
import { INVITATION_PATH, sendAccepted, sendOffer, sendUnusable, type Visit } from './invitation-views';
import { tokenParameter, type PageKit } from './page-kit';
import { formRefusal, inputProblems } from './service-errors';

/** The invitation stopped being usable meanwhile: answered as its state, not as a form problem. */
const isSpent = (error: unknown) => error instanceof AppError && error.key === 'invitation.invalid_token';

/** Someone who may join: who is signed in (on the pages, or by this request's password), and their address. */
type Joiner = { principal: Principal; email: string | null };

async function pageJoiner(kit: PageKit, request: FastifyRequest, reply: FastifyReply): Promise<Joiner | null> {
  const principal = await kit.sessions.current(request, reply);
  if (!principal) return null;
  const user = await kit.deps.db.getRepository(UserEntity).findOneBy({ id: principal.userId });
  return { principal, email: user?.email ?? null };
}

/** The invitation a request names, with whoever is signed in on the pages; null when unusable. */
async function visitOf(kit: PageKit, request: FastifyRequest, reply: FastifyReply) {
  const token = tokenParameter(request);
  const preview = token ? await previewInvitation(kit.deps.db.manager, token) : null;
  if (!token || !preview || preview.state !== 'usable') return { unusable: preview };
  const joiner = await pageJoiner(kit, request, reply);
  return {
    visit: { token, preview, principal: joiner?.principal ?? null, userEmail: joiner?.email ?? null } satisfies Visit,
  };
}

/**
 * Whether `joiner` is a member of the org of an invitation now used up: most likely the first of a
 * double submission joined, and this, the second, found the token spent.
 */
async function joinedThrough(kit: PageKit, preview: InvitationPreview | null, joiner: Joiner | null) {
  if (!preview || preview.state !== 'used' || !joiner) return false;
  return kit.deps.db
    .getRepository(MembershipEntity)
    .existsBy({ userId: joiner.principal.userId, orgId: preview.orgId, status: MembershipStatus.ACTIVE });
}

/** A spent invitation: `accepted` for whoever joined through it, else why the link no longer works. */
async function sendSpent(kit: PageKit, reply: FastifyReply, preview: InvitationPreview | null, joiner: Joiner | null) {
  if (preview && (await joinedThrough(kit, preview, joiner)))
    return sendAccepted(kit, reply, preview, joiner?.email ?? null);
  return sendUnusable(kit, reply, preview, { submitted: true });
}

const currentPreview = (kit: PageKit, visit: Visit) => previewInvitation(kit.deps.db.manager, visit.token);

/**
 * Accepts for the person signed in on the pages. Accepting opens a session of its own, which the
 * page keeps; the one it replaces ends.
 */
async function acceptAsSignedIn(
  kit: PageKit,
  request: FastifyRequest,
  reply: FastifyReply,
  visit: Visit,
  joiner: Joiner,
) {
  const { principal } = joiner;
  let signedIn: SignedIn;
  try {
    signedIn = await kit.deps.services.invitations.accept(
      { token: visit.token },
      principal,
      kit.sessions.actor(request, principal),
    );
  } catch (error) {
    if (isSpent(error)) return sendSpent(kit, reply, await currentPreview(kit, visit), joiner);
    const refusal = formRefusal(error, []);
    if (!refusal) throw error;
    return sendOffer(kit, reply, visit, refusal);
  }
  kit.sessions.start(request, reply, signedIn);
  await kit.sessions.end(request, principal);
  return sendAccepted(kit, reply, visit.preview, signedIn.user.email);
}

/**
 * Ends a session this request opened but will not keep in the cookie, so none is left open that
 * nobody holds. Without a principal (the new token did not authenticate) only its refresh token
 * names it.
 */
async function endUnkept(kit: PageKit, request: FastifyRequest, signedIn: SignedIn, principal: Principal | null) {
  if (principal) return kit.sessions.end(request, principal);
  await kit.deps.services.auth.logout(signedIn.refreshToken, kit.sessions.actor(request, null));
}

/**
 * The invited account signs in with its password, then accepts. The sign-in's session is kept only
 * when the person ends up signed in on the page (joined, or offered to join after a refusal), and
 * ended otherwise; a successful acceptance opens its own session, which replaces it.
 */
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
  let principal: Principal | null = null;
  let accepted: SignedIn;
  try {
    principal = await authenticate(signedIn.accessToken, request.scope.ipAddress);
    if (!principal) throw new AppError('auth.invalid_token');
    accepted = await services.invitations.accept(
      { token: visit.token },
      principal,
      kit.sessions.actor(request, principal),
    );
  } catch (error) {
    const joiner = principal && { principal, email: signedIn.user.email };
    if (isSpent(error)) {
      const preview = await currentPreview(kit, visit);
      if (await joinedThrough(kit, preview, joiner)) {
        kit.sessions.start(request, reply, signedIn);
        return sendAccepted(kit, reply, visit.preview, signedIn.user.email);
      }
      await endUnkept(kit, request, signedIn, principal);
      return sendUnusable(kit, reply, preview, { submitted: true });
    }
    const refusal = formRefusal(error, []);
    if (!refusal || !principal) {
      await endUnkept(kit, request, signedIn, principal);
      throw error;
    }
    // Signed in all the same: the page now offers to join as that account.
    kit.sessions.start(request, reply, signedIn);
    return sendOffer(kit, reply, { ...visit, principal, userEmail: signedIn.user.email }, refusal);
  }
  kit.sessions.start(request, reply, accepted);
  await kit.sessions.end(request, principal);
  return sendAccepted(kit, reply, visit.preview, accepted.user.email);
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
  return sendAccepted(kit, reply, visit.preview, signedIn.user.email);
}

async function acceptFromPage(kit: PageKit, request: FastifyRequest, reply: FastifyReply, visit: Visit) {
  if (visit.principal) {
    return acceptAsSignedIn(kit, request, reply, visit, { principal: visit.principal, email: visit.userEmail });
  }
  if (visit.preview.kind === InvitationKind.EMAIL && visit.preview.accountExists) {
    // Locked or deactivated since the page was read: no password to ask for.
    if (!visit.preview.accountCanSignIn) return sendOffer(kit, reply, visit, { status: 403 });
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
    if (!visit) {
      const joiner = unusable?.state === 'used' ? await pageJoiner(kit, request, reply) : null;
      return sendSpent(kit, reply, unusable ?? null, joiner);
    }
    try {
      return await acceptFromPage(kit, request, reply, visit);
    } catch (error) {
      // Spent, withdrawn or expired since the page was read: say which, as a fresh visit would.
      if (!isSpent(error)) throw error;
      return sendUnusable(kit, reply, await currentPreview(kit, visit), { submitted: true });
    }
  });
}
