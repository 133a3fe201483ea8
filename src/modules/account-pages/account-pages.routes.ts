import fastifyCsrfProtection from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { isOwnOrigin } from '../../core/http/same-origin';
import type { RouteDependencies } from '../../routes';
import { loadAssets } from './assets';
import { emailVerifyRoutes } from './email-verify.page';
import { pageErrorHandler, sendForbidden, sendMethodNotAllowed } from './error-pages';
import { invitationRoutes } from './invitation.page';
import { ASSET_PREFIX } from './layout';
import { pageKit } from './page-kit';
import { PageSessions } from './page-session';
import { passwordForgotRoutes } from './password-forgot.page';
import { passwordResetRoutes } from './password-reset.page';
import { signInRoutes } from './sign-in.page';

/** The secret behind the forms' CSRF tokens; HttpOnly, so only the server compares the two. */
const CSRF_COOKIE = 'portcullis_csrf';

/** Forms carry a few short fields; anything near this size is not one of them. */
const FORM_BODY_LIMIT = 16 * 1024;

/** Every page path and the methods it answers; any other method gets a 405 page. */
const PAGES: Record<string, string[]> = {
  '/sign-in': ['GET', 'HEAD', 'POST'],
  '/sign-out': ['POST'],
  '/invitations/accept': ['GET', 'HEAD', 'POST'],
  '/password/reset': ['GET', 'HEAD', 'POST'],
  '/password/forgot': ['GET', 'HEAD', 'POST'],
  '/email/verify': ['GET', 'HEAD', 'POST'],
};

/**
 * OPTIONS included: the CORS plugin's `OPTIONS *` would hand these paths (never CORS's) to the JSON
 * not-found answer; a route of their own takes precedence over that wildcard.
 */
const OTHER_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/**
 * The hosted account pages: sign-in, invitations, password reset (and asking for one) and email
 * verification, rendered on the server with no third-party assets. Encapsulated: form parsing, CSRF
 * checks and the HTML error pages apply to these routes only, never to /graphql or the JSON endpoints.
 */
export function accountPages(deps: RouteDependencies): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const { config } = deps;
    const { assets, logoName } = await loadAssets(config);
    const sessions = new PageSessions(deps);
    const kit = pageKit(deps, sessions, {
      name: config.brand.name,
      logoPath: logoName ? `${ASSET_PREFIX}${logoName}` : null,
    });
    const publicOrigin = new URL(config.publicUrl).origin;

    await app.register(fastifyFormbody, { bodyLimit: FORM_BODY_LIMIT });
    await app.register(fastifyCsrfProtection, {
      cookieKey: CSRF_COOKIE,
      cookieOpts: { path: '/', httpOnly: true, sameSite: 'lax', secure: config.cookies.secure },
      getToken: (request) => {
        const token = (request.body as Record<string, unknown> | undefined)?._csrf;
        return typeof token === 'string' ? token : '';
      },
    });
    app.setErrorHandler(pageErrorHandler(kit, deps.logger));

    // A browser always names the origin of a cross-site POST; one that is not ours changes nothing,
    // whatever token it carries.
    app.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'POST') return;
      if (request.headers.origin !== undefined && !isOwnOrigin(request, publicOrigin)) {
        return sendForbidden(kit, reply);
      }
    });
    app.addHook('onRoute', (route) => {
      if (route.method === 'POST' || (Array.isArray(route.method) && route.method.includes('POST'))) {
        route.bodyLimit = FORM_BODY_LIMIT;
        route.preHandler = app.csrfProtection;
      }
    });

    signInRoutes(app, kit);
    invitationRoutes(app, kit);
    passwordResetRoutes(app, kit);
    passwordForgotRoutes(app, kit);
    emailVerifyRoutes(app, kit);

    for (const [path, methods] of Object.entries(PAGES)) {
      const refused = OTHER_METHODS.filter((method) => !methods.includes(method));
      app.route({
        method: refused,
        url: path,
        handler: (_request, reply) => sendMethodNotAllowed(kit, reply, methods.join(', ')),
      });
    }

    for (const [name, asset] of assets) {
      app.get(`${ASSET_PREFIX}${name}`, (_request, reply) =>
        reply
          .headers({ 'content-type': asset.type, 'cache-control': 'public, max-age=3600', ...asset.headers })
          .send(asset.body),
      );
    }
  };
}
