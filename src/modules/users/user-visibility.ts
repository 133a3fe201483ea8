import type { GraphQLContext } from '../../core/context/context';

export type UserRelation = 'self' | 'super_user' | 'permitted' | 'shares_org' | 'stranger';

/**
 * How the caller relates to another user, for one permission: a user is visible only through an
 * org both belong to (the target with any membership status, the caller as an active member).
 */
export function relationTo(ctx: GraphQLContext, targetUserId: string, permission: string): Promise<UserRelation> {
  // Asked once per field of every user listed: the answer is kept for the rest of the request,
  // alongside its loaders (renewed after each mutation), never beyond it.
  let answers = relationsByLoaders.get(ctx.loaders);
  if (!answers) relationsByLoaders.set(ctx.loaders, (answers = new Map()));
  const key = `${ctx.principal?.userId}:${permission}:${targetUserId}`;
  let answer = answers.get(key);
  if (!answer) answers.set(key, (answer = findRelation(ctx, targetUserId, permission)));
  return answer;
}

const relationsByLoaders = new WeakMap<object, Map<string, Promise<UserRelation>>>();

async function findRelation(ctx: GraphQLContext, targetUserId: string, permission: string): Promise<UserRelation> {
  if (!ctx.principal) return 'stranger';
  if (ctx.principal.userId === targetUserId) return 'self';
  if (ctx.principal.superUser) return 'super_user';
  // An org a member page of this request showed them in: permission there settles it (nothing
  // outranks 'permitted' here) without reading all of their memberships.
  const listedIn = ctx.loaders.listedMemberOrgs.get(targetUserId);
  if (listedIn && (await ctx.access.orgsWhere(permission, [...listedIn])).length > 0) return 'permitted';
  const targetOrgs = (await ctx.loaders.membershipsByUserId.load(targetUserId)).map((membership) => membership.orgId);
  const shared: string[] = [];
  for (const orgId of targetOrgs) if (await ctx.access.membership(orgId)) shared.push(orgId);
  if (shared.length === 0) return 'stranger';
  return (await ctx.access.orgsWhere(permission, shared)).length > 0 ? 'permitted' : 'shares_org';
}

/** The orgs whose memberships of `targetUserId` the caller may see. */
export async function visibleOrgsOf(ctx: GraphQLContext, targetUserId: string): Promise<Set<string> | 'all'> {
  if (!ctx.principal) return new Set();
  if (ctx.principal.superUser || ctx.principal.userId === targetUserId) return 'all';
  const targetOrgs = (await ctx.loaders.membershipsByUserId.load(targetUserId)).map((membership) => membership.orgId);
  return new Set(await ctx.access.orgsWhere('members:read', targetOrgs));
}
