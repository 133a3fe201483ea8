import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestScope } from '../context/request-scope';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{8,128}$/;
/** Longer than any IPv6 address with a zone id. */
const MAX_ADDRESS_LENGTH = 64;

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/**
 * The client's address behind `trustedHops` proxies that each append the address they received
 * the request from to X-Forwarded-For. Reading from the right, the socket's peer is the last
 * proxy and each trusted hop vouches for one more entry; anything further left was written by the
 * client and is never believed. With fewer entries than hops the leftmost one present is taken:
 * the request passed fewer proxies than configured, and no entry can be further left than that.
 */
export function clientAddress(
  socketAddress: string | null,
  forwardedFor: string | null,
  trustedHops: number,
): string | null {
  if (trustedHops === 0) return socketAddress;
  const forwarded = (forwardedFor ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const chain = socketAddress ? [...forwarded, socketAddress] : forwarded;
  // Bounded because, with too few hops, the entry may be the client's own text.
  return chain[Math.max(0, chain.length - 1 - trustedHops)]?.slice(0, MAX_ADDRESS_LENGTH) ?? null;
}

/** Request id (a caller's well-formed X-Request-Id, or a new one), client IP and user agent. */
export function requestScopeOf(req: IncomingMessage, trustedProxyHops: number): RequestScope {
  const offered = header(req, 'x-request-id');
  // Node joins repeated X-Forwarded-For headers with ", " in order, which keeps the chain intact.
  const forwardedFor = req.headers['x-forwarded-for'];
  return {
    requestId: offered && REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID(),
    ipAddress: clientAddress(
      req.socket.remoteAddress ?? null,
      (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor) ?? null,
      trustedProxyHops,
    ),
    userAgent: header(req, 'user-agent')?.slice(0, 512) ?? null,
  };
}

export function bearerToken(req: IncomingMessage): { present: boolean; token: string | null } {
  const authorization = header(req, 'authorization');
  if (!authorization) return { present: false, token: null };
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]{1,4096})\s*$/i.exec(authorization);
  return { present: true, token: match ? match[1] : null };
}
