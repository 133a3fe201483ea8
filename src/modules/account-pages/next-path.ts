import type { FastifyRequest } from 'fastify';

/**
 * Where to go after signing in: a path on this gateway only. `//host` and `/\host` are read by
 * browsers as another host, and control characters can hide either, so those are refused.
 */
export function nextPath(request: FastifyRequest): string | null {
  const next = (request.query as Record<string, unknown> | undefined)?.next;
  if (typeof next !== 'string' || next.length > 2048) return null;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return null;
  return next;
}

/** `/sign-in`, returning to `next` afterwards when there is one. */
export function signInPath(next: string | null): string {
  return next ? `/sign-in?next=${encodeURIComponent(next)}` : '/sign-in';
}
