import { allow, chain, or, rule } from 'graphql-shield';
import { isDelegated, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { effectiveRank } from '../../core/permissions/caller-access';
import { isPermission } from '../../core/permissions/permissions';
import { hasPermission, offersOnlyHeldRole, orgFromArg, orgOfParent, parentOrg } from '../../core/permissions/rules';
import { OWNER_RANK } from '../roles/role-rank';
import { PrincipalKind } from '../users/user.entity';

type CreateKeyArgs = { input: { ownerId: string; orgId?: string | null; scopes: string[] } };

/**
 * Keys are made for a service account, by a holder of apikeys:write in its org who outranks it
 * (an owner: any); or by a person for themselves (a personal access token) in an org where they
 * hold apikeys:write. Scopes never exceed the creator's own permissions there. A key never makes a
 * key for its own owner: its holder would get a credential that outlives it (the credential gate
 * refuses it first; this keeps the rule true on its own).
 */
const canCreateKey = rule({ cache: 'no_cache' })(async (_parent, { input }: CreateKeyArgs, ctx: GraphQLContext) => {
  const principal = ctx.principal;
  if (!principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  const owner = isId(input.ownerId) ? await ctx.loaders.userById.load(input.ownerId) : null;
  if (!owner) return new AppError('user.not_found');
  const isSelf = owner.id === principal.userId;
  if (isSelf && isDelegated(principal)) return new AppError('auth.delegated_not_allowed');
  if (owner.kind !== PrincipalKind.SERVICE_ACCOUNT && !isSelf) return new AppError('apikey.owner_not_allowed');
  const orgId = await ctx.services.apiKeys.keyOrg(
    ctx.db.manager,
    owner.id,
    input.orgId ?? (isSelf ? principal.orgId : null),
  );
  if (!orgId || !(await ctx.access.canSeeOrg(orgId))) return new AppError('user.not_found');
  if (!(await ctx.access.can(orgId, 'apikeys:write'))) return new AppError('auth.forbidden');
  if (!isSelf) {
    const ownerRank = await effectiveRank(ctx.loaders, owner.id, orgId);
    if ((await ctx.access.rank(orgId)) < OWNER_RANK && ownerRank >= (await ctx.access.rank(orgId))) {
      return new AppError('member.outranked');
    }
  }
  const held = await ctx.access.permissions(orgId);
  return input.scopes.filter(isPermission).every((scope) => held.has(scope)) || new AppError('role.escalation');
});

/**
 * Rotating or revoking: the key's owner themselves, or a holder of apikeys:write in its org. Through
 * a key, its owner's keys are its own business only for the key itself: rotating a sibling would
 * hand over the sibling's scopes.
 */
const canManageKey = rule({ cache: 'no_cache' })(async (_parent, args: { id: string }, ctx: GraphQLContext) => {
  const principal = ctx.principal;
  if (!principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  const key = isId(args.id) ? await ctx.loaders.apiKeyById.load(args.id) : null;
  if (!key || !(await ctx.access.canSeeOrg(key.orgId))) return new AppError('apikey.not_found');
  if (key.ownerId === principal.userId) {
    return !isDelegated(principal) || key.id === principal.apiKeyId || new AppError('auth.delegated_not_allowed');
  }
  return (await ctx.access.can(key.orgId, 'apikeys:write')) || new AppError('auth.forbidden');
});

const isOwnKey = rule({ cache: 'no_cache' })(
  (key: { ownerId: string }, _args, ctx: GraphQLContext) => key.ownerId === ctx.principal?.userId,
);

export const apiKeyRules = {
  Mutation: {
    createServiceAccount: chain(
      hasPermission('serviceaccounts:write', orgFromArg('input', 'orgId')),
      offersOnlyHeldRole((args) => args.input.roleId, orgFromArg('input', 'orgId')),
    ),
    createKey: canCreateKey,
    rotateKey: canManageKey,
    revokeKey: canManageKey,
  },
  Org: {
    apiKeys: hasPermission('apikeys:read', parentOrg),
    serviceAccounts: hasPermission('members:read', parentOrg),
  },
  ApiKey: or(isOwnKey, hasPermission('apikeys:read', orgOfParent, 'apikey.not_found')),
  IssuedApiKey: allow,
};
