import type { FastifyRequest } from 'fastify';

/**
 * Whether a browser request comes from a page of this gateway: its Origin is PUBLIC_URL's origin,
 * or the origin the browser addressed (scheme and Host header), as when a newcomer opens
 * http://127.0.0.1:4000 while PUBLIC_URL says localhost. A page of another site always names its
 * own origin, which matches neither.
 */
export function isOwnOrigin(request: FastifyRequest, publicOrigin: string): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  if (origin === publicOrigin) return true;
  const host = request.headers.host;
  return host !== undefined && origin === `${request.protocol}://${host.toLowerCase()}`;
}
