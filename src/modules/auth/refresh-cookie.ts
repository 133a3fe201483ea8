import type { Config } from '../../core/config/config';
import type { CookieOptions, ResponseCookies } from '../../core/http/response-cookies';

/** The refresh token of a browser session (REFRESH_TOKEN_TRANSPORT=cookie or both). */
export const REFRESH_COOKIE = 'portcullis_refresh';

/**
 * Out of reach of scripts (HttpOnly), and sent only to /auth/refresh and /auth/logout (Path), never
 * with /graphql requests, which authenticate by bearer token alone.
 */
function attributes(config: Config): CookieOptions {
  return { path: '/auth', httpOnly: true, secure: config.cookies.secure, sameSite: config.cookies.sameSite };
}

/** The cookie lives as long as its session: a refresh renews both by REFRESH_TOKEN_TTL. */
export function setRefreshCookie(cookies: ResponseCookies, config: Config, refreshToken: string): void {
  const ttl = config.auth.refreshTokenTtl;
  cookies.set(REFRESH_COOKIE, refreshToken, {
    ...attributes(config),
    maxAge: ttl,
    expires: new Date(Date.now() + ttl * 1000),
  });
}

export function clearRefreshCookie(cookies: ResponseCookies, config: Config): void {
  cookies.clear(REFRESH_COOKIE, attributes(config));
}
