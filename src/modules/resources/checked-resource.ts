import type { GraphQLContext } from '../../core/context/context';
import { isId } from '../../core/ids';
import type { Subject } from './access-decision';
import type { ResourceEntity } from './resource.entity';

export type CheckTarget = { resource: string; orgId?: string | null };

/**
 * The resource an access check names: by id, or by name within `orgId` (default: the org of the
 * caller's token). Loaded through the request's loaders, so many checks share one query.
 */
export async function resolveCheckedResource(
  ctx: GraphQLContext,
  target: CheckTarget,
): Promise<{ orgId: string | null; resource: ResourceEntity | null }> {
  if (isId(target.resource)) {
    const resource = await ctx.loaders.resourceById.load(target.resource);
    if (resource && (!target.orgId || target.orgId === resource.orgId)) return { orgId: resource.orgId, resource };
  }
  const orgId = target.orgId ?? ctx.principal?.orgId ?? null;
  if (!orgId || !isId(orgId)) return { orgId: null, resource: null };
  return { orgId, resource: await ctx.loaders.resourceByName.load({ orgId, name: target.resource }) };
}

/** The caller as the subject of a check in an org: its permissions as CallerAccess sees them (capped by an API key). */
export async function subjectOf(ctx: GraphQLContext, orgId: string): Promise<Subject> {
  const principal = ctx.principal!;
  return { userId: principal.userId, superUser: principal.superUser, permissions: await ctx.access.permissions(orgId) };
}
