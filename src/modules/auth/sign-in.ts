import type { GraphQLContext } from '../../core/context/context';
import type { SignedIn } from './auth.service';

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
