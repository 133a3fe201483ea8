import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestScope } from '../context/request-scope';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{8,128}$/;

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** Request id (a caller's well-formed X-Request-Id, or a new one), client IP and user agent. */
export function requestScopeOf(req: IncomingMessage, trustProxy: boolean): RequestScope {
  const offered = header(req, 'x-request-id');
  const forwardedFor = trustProxy ? header(req, 'x-forwarded-for')?.split(',')[0]?.trim() : undefined;
  return {
    requestId: offered && REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID(),
    ipAddress: (forwardedFor || req.socket.remoteAddress) ?? null,
    userAgent: header(req, 'user-agent')?.slice(0, 512) ?? null,
  };
}

export function bearerToken(req: IncomingMessage): { present: boolean; token: string | null } {
  const authorization = header(req, 'authorization');
  if (!authorization) return { present: false, token: null };
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]{1,4096})\s*$/i.exec(authorization);
  return { present: true, token: match ? match[1] : null };
}
