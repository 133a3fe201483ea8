import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../core/config/config';
import { auditActorOf } from '../../core/context/context';
import { isDatabaseUnavailable } from '../../core/db/pg-errors';
import { AppError } from '../../core/errors/app-error';
import type { ErrorKey, PublicCode } from '../../core/errors/error-codes';
import { ServiceUnavailableError } from '../../core/errors/service-unavailable';
import { sendGraphQLError, sendJson } from '../../core/http/replies';
import { responseCookies } from '../../core/http/response-cookies';
import { isOwnOrigin } from '../../core/http/same-origin';
import type { RouteDependencies } from '../../routes';
import { MAX_TOKEN_LENGTH } from './auth.inputs';
import { REFRESH_COOKIE, clearRefreshCookie, setRefreshCookie } from './refresh-cookie';

const PATHS = ['/auth/refresh', '/auth/logout'];

/**
 * Tabs of one browser share the cookie, so two of them may refresh at once: the loser's token was
 * spent a moment ago by the winner, whose answer already put the successor in the cookie jar. For
 * this long after a rotation, that is a 409 to retry, not reuse that ends the session.
 */
const CONCURRENT_REFRESH_GRACE_SECONDS = 10;

const STATUS_OF: Record<PublicCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

/**
 * A browser attaches the cookie to any site's POST, so a cookie request must prove it comes from a
 * script of a trusted origin: the Origin header (which scripts cannot forge) is the gateway's own
 * or listed in CORS_ORIGINS, and it carries a header no plain form or link can send (any custom
 * header forces a preflight, which only those origins pass).
 */
function browserRefusal(request: FastifyRequest, config: Config, publicOrigin: string): ErrorKey | null {
  const origin = request.headers.origin;
  if (!isOwnOrigin(request, publicOrigin) && !config.corsOrigins.includes(origin ?? '')) {
    return 'request.origin_not_allowed';
  }
  if (request.headers['x-portcullis-csrf'] !== '1') return 'auth.csrf_header_required';
  return null;
}

/** A cookie no refresh token could be is treated as no cookie, before any work is done on it. */
function refreshTokenOf(request: FastifyRequest): string | null {
  const token = request.cookies[REFRESH_COOKIE];
  return token && token.length <= MAX_TOKEN_LENGTH ? token : null;
}

/** Catalogued failures keep their code and get the matching status; anything else is the error handler's. */
function sendFailure(reply: FastifyReply, error: unknown) {
  const failure = isDatabaseUnavailable(error) ? new ServiceUnavailableError(error) : error;
  if (!(failure instanceof AppError)) throw failure;
  const retryAfter = failure.extensions.retryAfter;
  return sendGraphQLError(reply, STATUS_OF[failure.publicCode], failure.key, {
    headers: retryAfter ? { 'retry-after': String(retryAfter) } : {},
  });
}

/**
 * Cookie sessions for browser apps: `POST /auth/refresh` spends the `portcullis_refresh` cookie
 * for a new access token and rotates it (reuse detection and abuse limits as refreshSession, both
 * inside AuthService.refresh); `POST /auth/logout` ends its session and clears it.
 */
export function cookieSessionRoutes({ config, services }: Pick<RouteDependencies, 'config' | 'services'>) {
  const publicOrigin = new URL(config.publicUrl).origin;
  const actorOf = (request: FastifyRequest) => auditActorOf({ ...request.scope, principal: null });

  const plugin: FastifyPluginAsync = async (app) => {
    // Nothing is read from a body: whatever a client sends along is accepted and dropped.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined));
    app.addHook('onRequest', (_request, reply, done) => {
      void reply.header('cache-control', 'no-store');
      done();
    });

    app.post('/auth/refresh', async (request, reply) => {
      const refusal = browserRefusal(request, config, publicOrigin);
      if (refusal) return sendGraphQLError(reply, 403, refusal);
      const cookies = responseCookies(reply);
      const token = refreshTokenOf(request);
      try {
        if (!token) throw new AppError('auth.invalid_refresh_token');
        const signedIn = await services.auth.refresh(token, actorOf(request), {
          concurrentGraceSeconds: CONCURRENT_REFRESH_GRACE_SECONDS,
        });
        setRefreshCookie(cookies, config, signedIn.refreshToken);
        return sendJson(reply, 200, {
          accessToken: signedIn.accessToken,
          expiresAt: signedIn.expiresAt.toISOString(),
          tokenType: 'Bearer',
        });
      } catch (error) {
        // A spent or unknown token never works again: the browser need not keep sending it.
        if (error instanceof AppError && error.key === 'auth.invalid_refresh_token') {
          clearRefreshCookie(cookies, config);
        }
        return sendFailure(reply, error);
      }
    });

    app.post('/auth/logout', async (request, reply) => {
      const refusal = browserRefusal(request, config, publicOrigin);
      if (refusal) return sendGraphQLError(reply, 403, refusal);
      const token = refreshTokenOf(request);
      try {
        if (token) await services.auth.logout(token, actorOf(request));
      } catch (error) {
        return sendFailure(reply, error);
      }
      clearRefreshCookie(responseCookies(reply), config);
      return reply.code(204).send();
    });

    for (const url of PATHS) {
      app.route({
        method: ['GET', 'PUT', 'PATCH', 'DELETE'],
        url,
        handler: (_request, reply) => sendJson(reply, 405, { error: 'method not allowed' }, { allow: 'POST' }),
      });
    }
  };
  return plugin;
}
