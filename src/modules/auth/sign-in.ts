import type { GraphQLContext } from '../../core/context/context';
import type { SignedIn } from './auth.service';
import { setRefreshCookie } from './refresh-cookie';

/** A sign-in as the GraphQL answer carries it: without the refresh token when a cookie holds it. */
export type SignInAnswer = Omit<SignedIn, 'refreshToken'> & { refreshToken: string | null };

/**
 * After an operation signs someone in (login, refresh, accepting an invitation), the rest of the
 * operation runs as them, so the payload's `user` is readable as self.
 */
export function actAs(ctx: GraphQLContext, signedIn: SignedIn): SignedIn {
  ctx.principal = {
    userId: signedIn.user.id,
    kind: signedIn.user.kind,
    superUser: signedIn.user.superUser,
    orgId: null,
    sessionId: null,
    apiKeyId: null,
    credential: 'session',
  };
  return signedIn;
}

/**
 * A new session (login, an accepted invitation) hands its refresh token over where
 * REFRESH_TOKEN_TRANSPORT says: in the JSON answer, in the `portcullis_refresh` cookie, or both. In
 * cookie mode no script ever sees it, so an injected script cannot carry it away.
 */
export function signIn(ctx: GraphQLContext, signedIn: SignedIn): SignInAnswer {
  actAs(ctx, signedIn);
  const { config } = ctx.services;
  const transport = config.cookies.refreshTokenTransport;
  if (transport === 'body') return signedIn;
  setRefreshCookie(ctx.cookies, config, signedIn.refreshToken);
  return transport === 'both' ? signedIn : { ...signedIn, refreshToken: null };
}
