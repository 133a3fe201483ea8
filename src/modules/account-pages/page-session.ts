import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditActorOf, type Principal } from '../../core/context/context';
import type { AuditActor } from '../../core/audit/audit';
import { responseCookies } from '../../core/http/response-cookies';
import type { RouteDependencies } from '../../routes';
import type { SignedIn } from '../auth/auth.service';
import { clearRefreshCookie, setRefreshCookie } from '../auth/refresh-cookie';

/** Who is signed in on the account pages: the access token of a session a page started. */
export const PAGE_SESSION_COOKIE = 'portcullis_account';

const principals = new WeakMap<FastifyRequest, Principal | null>();

/**
 * The page session: an HttpOnly cookie holding the access token of a session the pages started, so
 * it is checked exactly as a GraphQL bearer token is, and lasts no longer than that token.
 */
export class PageSessions {
  constructor(private readonly deps: RouteDependencies) {}

  private cookieOptions() {
    const { secure, sameSite } = this.deps.config.cookies;
    return { path: '/', httpOnly: true, secure, sameSite };
  }

  /** The signed-in person, or null; a cookie that no longer authenticates is cleared. */
  async current(request: FastifyRequest, reply: FastifyReply): Promise<Principal | null> {
    if (principals.has(request)) return principals.get(request) ?? null;
    const token = request.cookies[PAGE_SESSION_COOKIE];
    const checked = token ? await this.deps.authenticate(token, request.scope.ipAddress) : null;
    // Only a session the pages started belongs here; an API key put in the cookie signs nobody in.
    const principal = checked?.credential === 'session' ? checked : null;
    if (token && !principal) reply.clearCookie(PAGE_SESSION_COOKIE, this.cookieOptions());
    principals.set(request, principal);
    return principal;
  }

  actor(request: FastifyRequest, principal: Principal | null): AuditActor {
    return auditActorOf({ ...request.scope, principal });
  }

  /**
   * Keeps a new sign-in in the cookie, and its refresh token where REFRESH_TOKEN_TRANSPORT puts
   * browser refresh tokens, so a same-site app can carry on the session through /auth/refresh.
   */
  start(request: FastifyRequest, reply: FastifyReply, signedIn: SignedIn): void {
    const maxAge = Math.max(0, Math.floor((signedIn.expiresAt.getTime() - Date.now()) / 1000));
    reply.setCookie(PAGE_SESSION_COOKIE, signedIn.accessToken, { ...this.cookieOptions(), maxAge });
    const { config } = this.deps;
    if (config.cookies.refreshTokenTransport !== 'body') {
      setRefreshCookie(responseCookies(reply), config, signedIn.refreshToken);
    }
    principals.delete(request);
  }

  /** Ends a session the page holds (or held until a newer one replaced it), audited as revokeSession is. */
  async end(request: FastifyRequest, principal: Principal): Promise<void> {
    const sessionId = principal.sessionId;
    if (!sessionId) return;
    await this.deps.db.transaction((tx) =>
      this.deps.services.auth.revokeSession(tx, principal, sessionId, this.actor(request, principal)),
    );
  }

  /** Signs out: the session ends and both cookies go. */
  async signOut(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const principal = await this.current(request, reply);
    if (principal) await this.end(request, principal);
    reply.clearCookie(PAGE_SESSION_COOKIE, this.cookieOptions());
    const { config } = this.deps;
    if (config.cookies.refreshTokenTransport !== 'body') clearRefreshCookie(responseCookies(reply), config);
    principals.set(request, null);
  }
}
