import type { IncomingMessage } from 'node:http';
import type { DataSource } from 'typeorm';
import { FreshCache } from '../../core/cache/fresh-cache';
import type { Freshness } from '../../core/cache/freshness';
import type { Principal } from '../../core/context/context';
import { bearerToken } from '../../core/http/client-info';
import { isDatabaseUnavailable } from '../../core/db/pg-errors';
import { RETRY_AFTER_OUTAGE_SECONDS } from '../../core/errors/service-unavailable';
import type { ErrorKey } from '../../core/errors/error-codes';
import { isId } from '../../core/ids';
import { authOutcomeOf, type AuthOutcome, type GatewayMetrics } from '../../core/observability/gateway-metrics';
import { observationOf } from '../../core/observability/request-observation';
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

/** Answers by credential (a session or a key), X-Resource and level; see `decide` for which are kept. */
export type ForwardAuthDecisions = FreshCache<ForwardAuthAnswer>;

/** How many answers a process remembers; the least recently used go first. */
const REMEMBERED_ANSWERS = 50_000;

export function forwardAuthDecisions(freshness: Freshness): ForwardAuthDecisions {
  return new FreshCache(freshness, REMEMBERED_ANSWERS);
}

/** A computed answer, and whether it may be remembered. */
type Decided = { answer: ForwardAuthAnswer; keep: boolean };

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
}

/**
 * `GET /auth/check` for reverse proxies (nginx auth_request, Traefik ForwardAuth): who is the
 * bearer (access token or API key), in which org, and — with `X-Resource` and optionally
 * `X-Access-Level` — may they use that resource? No GraphQL on this path. Warm, no database
 * round trip either: `authenticate` answers from its cache of checked credentials, and the answer
 * itself from `decisions`, both emptied by every change that could alter them (Freshness). Cold,
 * one authentication query and the batched reads of one access decision, through the same
 * functions the GraphQL path uses, so a remembered answer is one the database would give.
 */
export async function forwardAuth(
  req: IncomingMessage,
  ipAddress: string | null,
  db: DataSource,
  authenticate: Authenticate,
  decisions: ForwardAuthDecisions,
  metrics: GatewayMetrics,
): Promise<ForwardAuthAnswer> {
  const observation = observationOf(req);
  const observed: Authenticate = async (token, address) => (observation.principal = await authenticate(token, address));
  try {
    const answer = await answerForwardAuth(req, ipAddress, db, observed, decisions);
    const outcome = outcomeOf(answer, bearerToken(req).present);
    metrics.authEvent('forward_auth', outcome);
    observation.outcome = outcome === 'success' ? 'ok' : outcome;
    return answer;
  } catch (error) {
    metrics.authEvent('forward_auth', authOutcomeOf(error));
    throw error;
  }
}

/** A decision as a catalog key: the reason text is for people, and not bounded. */
function outcomeOf(answer: ForwardAuthAnswer, credentialPresented: boolean): AuthOutcome {
  const refusals: Record<Exclude<ForwardAuthAnswer['status'], 200>, ErrorKey> = {
    400: 'request.invalid_input',
    401: credentialPresented ? 'auth.invalid_token' : 'auth.unauthenticated',
    403: 'auth.forbidden',
    503: 'service.unavailable',
  };
  return answer.status === 200 ? 'success' : refusals[answer.status];
}

async function answerForwardAuth(
  req: IncomingMessage,
  ipAddress: string | null,
  db: DataSource,
  authenticate: Authenticate,
  decisions: ForwardAuthDecisions,
): Promise<ForwardAuthAnswer> {
  try {
    // Taken before any read, so an answer loaded across an invalidation is not remembered.
    const ticket = decisions.ticket();
    const { token } = bearerToken(req);
    const principal = token ? await authenticate(token, ipAddress) : null;
    if (!principal)
      return { status: 401, headers: { 'www-authenticate': 'Bearer' }, reason: 'invalid or missing credentials' };
    const resourceName = header(req, 'x-resource');
    const level = header(req, 'x-access-level')?.toUpperCase() ?? AccessLevel.READ;
    const key = answerKey(principal, resourceName, level);
    const remembered = decisions.get(key);
    if (remembered) return remembered;
    const { answer, keep } = await decide(principal, resourceName, level, db);
    if (keep) decisions.set(key, Object.freeze(answer), ticket);
    return answer;
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

/**
 * A session's or key's identity and rights are fixed but for what the database says, so its answers
 * are keyed by its id; the level counts only with a resource, as it does in `decide`.
 */
function answerKey(principal: Principal, resourceName: string | undefined, level: string): string {
  const credential = principal.apiKeyId ? `k:${principal.apiKeyId}` : `s:${principal.sessionId ?? ''}`;
  return resourceName === undefined ? credential : `${credential}\n${level}\n${resourceName}`;
}

/**
 * The answer for an authenticated caller. Kept: answers about the caller alone and about a resource
 * that exists; not kept: refusals whose key a caller chooses freely (a made-up resource name, a
 * level that is no level), which would only crowd remembered answers out.
 */
async function decide(
  principal: Principal,
  resourceName: string | undefined,
  level: string,
  db: DataSource,
): Promise<Decided> {
  const loaders = createLoaders(db);
  const access = new CallerAccess(
    () => principal,
    () => loaders,
  );
  const orgId = principal.orgId;
  const membership = orgId ? await access.membership(orgId) : null;
  // Refusals of the caller alone are kept only without a resource, whose name the caller chooses.
  const refusedCaller = resourceName ? notKept : kept;
  if (orgId && !membership && !principal.superUser)
    return refusedCaller({ status: 403, headers: {}, reason: 'no longer a member of the org' });
  if (orgId && (await access.shutOutFor(orgId)))
    return refusedCaller({ status: 403, headers: {}, reason: 'the org requires a verified email address' });
  const role = membership ? await loaders.roleById.load(membership.roleId) : null;
  const identity = { 'x-user-id': principal.userId, 'x-org-id': orgId ?? '', 'x-role': role?.key ?? '' };

  if (!resourceName) return kept({ status: 200, headers: identity, reason: 'authenticated' });
  if (!isLevel(level))
    return notKept({ status: 400, headers: {}, reason: 'X-Access-Level must be READ, WRITE or ADMIN' });
  if (!orgId) return notKept({ status: 403, headers: {}, reason: 'the credentials name no org' });

  const byId = isId(resourceName) ? await loaders.resourceById.load(resourceName) : null;
  const resource = byId?.orgId === orgId ? byId : await loaders.resourceByName.load({ orgId, name: resourceName });
  if (!resource) return notKept({ status: 403, headers: {}, reason: 'no such resource in this org' });
  const subject = { userId: principal.userId, superUser: principal.superUser };
  const decision = await decideAccess(loaders, subject, resource, level);
  return kept(
    decision.allowed
      ? { status: 200, headers: { ...identity, 'x-access-reason': decision.reason }, reason: decision.reason }
      : { status: 403, headers: {}, reason: decision.reason },
  );
}

const kept = (answer: ForwardAuthAnswer): Decided => ({ answer, keep: true });
const notKept = (answer: ForwardAuthAnswer): Decided => ({ answer, keep: false });
const isLevel = (level: string): level is AccessLevel => (Object.values(AccessLevel) as string[]).includes(level);
