import type { GraphQLContext } from '../../core/context/context';
import { isId } from '../../core/ids';
import type { Subject } from './access-decision';
import type { ResourceEntity } from './resource.entity';

export type CheckTarget = { resource: string; orgId?: string | null };

/** Ids are uuids, whose hex digits a client may send in either case; stored and signed ones are lower case. */
function canonicalId<T extends string | null | undefined>(value: T): T {
  return (isId(value) ? value.toLowerCase() : value) as T;
}

/** Whom a check is about: the named principal, its id in canonical case, or else the caller. */
export function checkedPrincipalId(ctx: GraphQLContext, principalId: string | null | undefined): string {
  return principalId ? canonicalId(principalId) : ctx.principal!.userId;
}

/**
 * The resource an access check names: by id, or by name within `orgId` (default: the org of the
 * caller's token). Loaded through the request's loaders, so many checks share one query.
 */
export async function resolveCheckedResource(
  ctx: GraphQLContext,
  target: CheckTarget,
): Promise<{ orgId: string | null; resource: ResourceEntity | null }> {
  const namedOrgId = canonicalId(target.orgId);
  if (isId(target.resource)) {
    const resource = await ctx.loaders.resourceById.load(canonicalId(target.resource));
    if (resource && (!namedOrgId || namedOrgId === resource.orgId)) return { orgId: resource.orgId, resource };
  }
  const orgId = namedOrgId ?? ctx.principal?.orgId ?? null;
  if (!orgId || !isId(orgId)) return { orgId: null, resource: null };
  return { orgId, resource: await ctx.loaders.resourceByName.load({ orgId, name: target.resource }) };
}

/** The caller as the subject of a check: only its grants and its super-user power count, never its role. */
export function subjectOf(ctx: GraphQLContext): Subject {
  const principal = ctx.principal!;
  return { userId: principal.userId, superUser: principal.superUser };
}
