import type { FastifyRequest } from 'fastify';

/**
 * Where to go after signing in or out: a path on this gateway only. `//host` and `/\host` are read
 * by browsers as another host, and control characters can hide either, so those are refused. The
 * path is resolved against PUBLIC_URL and answered as the URL parser serialises it, percent-encoded
 * ASCII: a raw non-Latin-1 character cannot go into a Location header.
 */
export function nextPath(request: FastifyRequest, publicUrl: string): string | null {
  const next = (request.query as Record<string, unknown> | undefined)?.next;
  if (typeof next !== 'string' || next.length > 2048) return null;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return null;
  const publicOrigin = new URL(publicUrl).origin;
  let resolved: URL;
  try {
    resolved = new URL(next, publicOrigin);
  } catch {
    return null;
  }
  if (resolved.origin !== publicOrigin) return null;
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}

function withNext(path: string, next: string | null): string {
  return next ? `${path}?next=${encodeURIComponent(next)}` : path;
}

/** `/sign-in`, returning to `next` afterwards when there is one. */
export function signInPath(next: string | null): string {
  return withNext('/sign-in', next);
}

/** `/sign-out`, going on to `next` afterwards when there is one. */
export function signOutPath(next: string | null): string {
  return withNext('/sign-out', next);
}
