import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { RequestScope } from '../context/request-scope';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{8,128}$/;
/** `[2001:db8::1]` or `[2001:db8::1]:80`: the address between the brackets. */
const BRACKETED = /^\[([^\]]*)\](?::\d{1,5})?$/;
/** `192.0.2.15:1234`: the IPv4 address before the port. */
const IPV4_WITH_PORT = /^([\d.]+):\d{1,5}$/;

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/**
 * The IP address an X-Forwarded-For entry names, or null. Some proxies append the source port
 * (`192.0.2.15:1234`, `[2001:db8::1]:80`), and an IPv6 entry may come bracketed or with a zone id
 * (`fe80::1%eth0`); none of these name another client, so they are dropped, or every new source
 * port would count as a new address. What remains must be an IP address.
 */
function forwardedAddress(entry: string): string | null {
  const host = BRACKETED.exec(entry)?.[1] ?? IPV4_WITH_PORT.exec(entry)?.[1] ?? entry;
  const address = host.split('%')[0];
  return isIP(address) === 0 ? null : address;
}

/**
 * The client's address behind `trustedHops` proxies that each append the address they received
 * the request from to X-Forwarded-For. Reading from the right, the socket's peer is the last
 * proxy and each trusted hop vouches for one more entry; anything further left was written by the
 * client and is never believed. With fewer entries than hops the leftmost one present is taken:
 * the request passed fewer proxies than configured, and no entry can be further left than that.
 *
 * An entry that is not an IP address (`unknown`, a host name, garbage) identifies no client, so it
 * is not believed either: the socket's peer is taken instead. Every such client then shares the
 * proxy's address and its limits, the safe direction; believing the text would give each new
 * spelling a fresh allowance.
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
  const hopsAvailable = Math.min(trustedHops, forwarded.length);
  if (hopsAvailable === 0) return socketAddress;
  return forwardedAddress(forwarded[forwarded.length - hopsAvailable]) ?? socketAddress;
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
