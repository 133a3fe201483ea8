import type { IncomingMessage } from 'node:http';
import type { DataSource } from 'typeorm';
import type { Principal } from '../../core/context/context';
import { bearerToken } from '../../core/http/client-info';
import { isDatabaseUnavailable } from '../../core/db/pg-errors';
import { RETRY_AFTER_OUTAGE_SECONDS } from '../../core/errors/service-unavailable';
import { isId } from '../../core/ids';
import { CallerAccess } from '../../core/permissions/caller-access';
import { createLoaders } from '../../loaders';
import { AccessLevel } from './access-grant.entity';
import { decideAccess } from './access-decision';

export type ForwardAuthAnswer = {
  status: 200 | 400 | 401 | 403 | 503;
  headers: Record<string, string>;
  reason: string;
};

export type Authenticate = (token: string, ipAddress: string | null) => Promise<Principal | null>;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
}

/**
 * `GET /auth/check` for reverse proxies (nginx auth_request, Traefik ForwardAuth): who is the
 * bearer (access token or API key), in which org, and — with `X-Resource` and optionally
 * `X-Access-Level` — may they use that resource? No GraphQL on this path: one authentication
 * query and the batched reads of one access decision.
 */
export async function forwardAuth(
  req: IncomingMessage,
  ipAddress: string | null,
  db: DataSource,
  authenticate: Authenticate,
): Promise<ForwardAuthAnswer> {
  try {
    return await decide(req, ipAddress, db, authenticate);
  } catch (error) {
    // Not 401 or 403: the proxy would tell a signed-in user to sign in again, or that they may not.
    if (!isDatabaseUnavailable(error)) throw error;
    return {
      status: 503,
      headers: { 'retry-after': String(RETRY_AFTER_OUTAGE_SECONDS) },
      reason: 'the database is unavailable; try again shortly',
    };
  }
}

async function decide(
  req: IncomingMessage,
  ipAddress: string | null,
  db: DataSource,
  authenticate: Authenticate,
): Promise<ForwardAuthAnswer> {
  const { token } = bearerToken(req);
  const principal = token ? await authenticate(token, ipAddress) : null;
  if (!principal)
    return { status: 401, headers: { 'www-authenticate': 'Bearer' }, reason: 'invalid or missing credentials' };

  const loaders = createLoaders(db);
  const access = new CallerAccess(
    () => principal,
    () => loaders,
  );
  const orgId = principal.orgId;
  const membership = orgId ? await access.membership(orgId) : null;
  if (orgId && !membership && !principal.superUser)
    return { status: 403, headers: {}, reason: 'no longer a member of the org' };
  if (orgId && (await access.shutOutFor(orgId)))
    return { status: 403, headers: {}, reason: 'the org requires a verified email address' };
  const role = membership ? await loaders.roleById.load(membership.roleId) : null;
  const identity = { 'x-user-id': principal.userId, 'x-org-id': orgId ?? '', 'x-role': role?.key ?? '' };

  const resourceName = header(req, 'x-resource');
  if (!resourceName) return { status: 200, headers: identity, reason: 'authenticated' };
  const level = (header(req, 'x-access-level')?.toUpperCase() ?? AccessLevel.READ) as AccessLevel;
  if (!Object.values(AccessLevel).includes(level))
    return { status: 400, headers: {}, reason: 'X-Access-Level must be READ, WRITE or ADMIN' };
  if (!orgId) return { status: 403, headers: {}, reason: 'the credentials name no org' };

  const byId = isId(resourceName) ? await loaders.resourceById.load(resourceName) : null;
  const resource = byId?.orgId === orgId ? byId : await loaders.resourceByName.load({ orgId, name: resourceName });
  if (!resource) return { status: 403, headers: {}, reason: 'no such resource in this org' };
  const subject = { userId: principal.userId, superUser: principal.superUser };
  const decision = await decideAccess(loaders, subject, resource, level);
  return decision.allowed
    ? { status: 200, headers: { ...identity, 'x-access-reason': decision.reason }, reason: decision.reason }
    : { status: 403, headers: {}, reason: decision.reason };
}
