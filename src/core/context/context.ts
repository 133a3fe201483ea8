import type { DataSource } from 'typeorm';
import { isDatabaseUnavailable } from '../db/pg-errors';
import type { AuditActor } from '../audit/audit';
import type { AppError } from '../errors/app-error';
import type { ListBudget } from '../graphql/list-budget';
import type { ReplicaReads } from '../db/replica-reads';
import type { ResponseCookies } from '../http/response-cookies';
import type { RequestObservation } from '../observability/request-observation';
import type { CallerAccess } from '../permissions/caller-access';
import type { PrincipalKind } from '../../modules/users/user.entity';
import type { Loaders } from '../../loaders';
import type { Services } from '../../services';
import type { RequestScope } from './request-scope';

/**
 * How the caller proved who they are: a first-party session from `login` (or refresh or an accepted
 * invitation), or a credential delegated to a program — today an API key, later any token issued to
 * a registered client. Delegated credentials never upgrade themselves (docs/security.md).
 */
export type Credential = 'session' | 'api_key';

/** The authenticated caller, re-checked against the database on every request. */
export type Principal = {
  userId: string;
  kind: PrincipalKind;
  superUser: boolean;
  /** The org the token was issued for; operations name their own target org. */
  orgId: string | null;
  sessionId: string | null;
  apiKeyId: string | null;
  credential: Credential;
  /** With an API key: what the key may do at most, within its owner's current role in `orgId`. */
  scopes?: readonly string[];
};

/** Whether the caller uses a delegated credential rather than a first-party session. */
export function isDelegated(principal: Principal): boolean {
  return principal.credential !== 'session';
}

/**
 * The data source of the few list reads that a read-only query may send to a replica
 * (graphql/replica-routing.ts): the primary's `db` and `loaders` unless a replica serves the query.
 * Only a list whose SQL decides nothing about authority may read through it — the member pages,
 * Org.teams, Team.members, Org.groups and Group.members: whether the caller may read the list at
 * all is checked by its rule on the primary, its rows carry no per-row visibility decision, and
 * each row's fields keep their own rules, on the primary. A replica's rows may be up to
 * REPLICA_MAX_LAG old, which is acceptable for data but never for authority: a list that filters
 * by grants (Org.resources), or anything read by rules, visibility helpers, node look-ups,
 * sessions, API keys or audit, reads `db` and `loaders`, and so the primary. What a replica
 * returned is never handed to those `loaders` (primed): they would serve it to later checks.
 */
export type ListReads = { readonly db: DataSource; readonly loaders: Loaders };

/**
 * Where an opted-in list reads its rows now. The context itself when no replica serves: Apollo runs
 * each operation on a copy of the context and a mutation renews the copy's `loaders`, so nothing
 * may hold on to them beforehand.
 */
function listReadsOf(ctx: GraphQLContext): ListReads {
  return ctx.listReads ?? ctx;
}

/**
 * Runs an opted-in list read where the request's list reads go. A replica that fails it because it
 * went away (stopped, restarting, cut off) costs the request nothing: the rest of the request reads
 * the primary, this read included; the replica set's next check skips the replica for everyone.
 */
export async function readList<T>(ctx: GraphQLContext, read: (reads: ListReads) => Promise<T>): Promise<T> {
  const reads = listReadsOf(ctx);
  if (reads === ctx) return read(ctx);
  try {
    return await read(reads);
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    ctx.listReads = undefined;
    return read(ctx);
  }
}

/** Built fresh for every operation: loaders and shield's cache never outlive one request. */
export type GraphQLContext = RequestScope & {
  principal: Principal | null;
  /** Why a presented credential was refused; reported instead of a bare UNAUTHENTICATED. */
  authError: AppError | null;
  /** The primary, always: every rule, visibility and credential decision reads it, as do mutations. */
  db: DataSource;
  services: Services;
  /** The primary's, always (renewed after each mutation, see graphql/fresh-loaders.ts). */
  loaders: Loaders;
  /** The caller's permissions per org, read through `loaders`. */
  access: CallerAccess;
  /**
   * A replica's, set by graphql/replica-routing.ts when one serves a read-only query; unset, the
   * opted-in lists read `db` and `loaders`. Read through listReadsOf.
   */
  listReads?: ListReads;
  /** Whether this request's reads may go to a replica. */
  replicaReads: ReplicaReads;
  /** Cookies on this operation's HTTP answer (the refresh cookie of a browser sign-in). */
  cookies: ResponseCookies;
  /** Items the operation's lists returned so far; set by Apollo's listBudgetPlugin for each request. */
  listBudget?: ListBudget;
  /** What this request's log line and metrics report; filled in by Apollo's observation plugin. */
  observation: RequestObservation;
};

export function auditActorOf({ principal, ...scope }: RequestScope & { principal: Principal | null }): AuditActor {
  return {
    actorId: principal?.userId ?? null,
    actorKind: principal?.kind ?? 'ANONYMOUS',
    apiKeyId: principal?.apiKeyId ?? null,
    ipAddress: scope.ipAddress,
    userAgent: scope.userAgent,
    requestId: scope.requestId,
  };
}
