import type { FastifyReply } from 'fastify';

export type CookieOptions = {
  path: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'lax' | 'strict' | 'none';
  maxAge?: number;
  expires?: Date;
};

/**
 * Cookies set on the answer of the request being served. GraphQL resolvers get this instead of the
 * Fastify reply, so they stay independent of the HTTP server that carries Apollo.
 */
export type ResponseCookies = {
  set(name: string, value: string, options: CookieOptions): void;
  /** Tells the browser to drop the cookie; `options` must name the Path it was set with. */
  clear(name: string, options: CookieOptions): void;
};

export function responseCookies(reply: FastifyReply): ResponseCookies {
  return {
    set: (name, value, options) => void reply.setCookie(name, value, options),
    clear: (name, options) => void reply.clearCookie(name, options),
  };
}
