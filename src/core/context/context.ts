import type { DataSource } from 'typeorm';
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

/** Built fresh for every operation: loaders and shield's cache never outlive one request. */
export type GraphQLContext = RequestScope & {
  principal: Principal | null;
  /** Why a presented credential was refused; reported instead of a bare UNAUTHENTICATED. */
  authError: AppError | null;
  /** The primary; for a read-only query, possibly a replica (graphql/replica-routing.ts), as `loaders`. */
  db: DataSource;
  services: Services;
  loaders: Loaders;
  /** The caller's permissions per org, read through `loaders` — the primary's, when `loaders` are a replica's. */
  access: CallerAccess;
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
