import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDependencies } from '../../routes';
import { renderLayout, type Branding, type PageView } from './layout';
import type { PageSessions } from './page-session';

/** Same-origin everything, no inline code, no framing, forms posting only back here. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** What every page handler needs: the gateway's services, the page session, and a way to answer. */
export type PageKit = {
  deps: RouteDependencies;
  sessions: PageSessions;
  send(reply: FastifyReply, status: number, view: PageView, headers?: Record<string, string>): FastifyReply;
  /** A CSRF token for this visitor's forms (the secret lives in an HttpOnly cookie). */
  csrf(reply: FastifyReply): string;
};

export function pageKit(deps: RouteDependencies, sessions: PageSessions, brand: Branding): PageKit {
  const tokens = new WeakMap<FastifyReply, string>();
  return {
    deps,
    sessions,
    send(reply, status, view, headers = {}) {
      return reply
        .code(status)
        .headers({
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': PAGE_CSP,
          'cache-control': 'no-store',
          // Under the gateway's default no-referrer, browsers send `Origin: null` with a same-origin
          // form post, which the origin check must refuse. same-origin still keeps the page's URL,
          // and its token, from every other site.
          'referrer-policy': 'same-origin',
          ...headers,
        })
        .send(renderLayout(brand, view));
    },
    csrf(reply) {
      // A visitor without a secret gets one with the first token; a second call in the same answer
      // would make another secret, and the first form's token would no longer match.
      let token = tokens.get(reply);
      if (!token) {
        token = reply.generateCsrf();
        tokens.set(reply, token);
      }
      return token;
    },
  };
}

/** The `token` query parameter, when there is exactly one of a plausible length. */
export function tokenParameter(request: FastifyRequest): string | null {
  const token = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' && token.length > 0 && token.length <= 256 ? token : null;
}

/** The page's own path and query, for a form to post back to. */
export function withToken(path: string, token: string): string {
  return `${path}?token=${encodeURIComponent(token)}`;
}
