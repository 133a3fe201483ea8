import { allow, chain, or, rule } from 'graphql-shield';
import { isDelegated, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { effectiveRank } from '../../core/permissions/caller-access';
import { isPermission } from '../../core/permissions/permissions';
import { hasPermission, offersOnlyHeldRole, orgFromArg, orgOfParent, parentOrg } from '../../core/permissions/rules';
import { OWNER_RANK } from '../roles/role-rank';
import { authorityOverAccount } from '../users/account-authority';
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

type ManagedKey = { id: string; orgId: string; ownerId: string; scopes: string[] };
type KeyAct = 'rotate' | 'revoke';

/**
 * Rotating or revoking a key, which is a credential of its owner's account. Its owner may (through
 * a key, only that key itself: rotating a sibling would hand over the sibling's scopes). Anyone
 * else needs apikeys:write in its org and, for a service account's key, a higher rank than the
 * service account (an owner: any) and every scope the key holds, since rotation hands them the new
 * token. A person's key is theirs alone to rotate (a super user aside); revoking it is an act on
 * their account (`authorityOverAccount`).
 */
const canManageKey = (act: KeyAct) =>
  rule({ cache: 'no_cache' })(async (_parent, args: { id: string }, ctx: GraphQLContext) => {
    const principal = ctx.principal;
    if (!principal) return ctx.authError ?? new AppError('auth.unauthenticated');
    const key = isId(args.id) ? await ctx.loaders.apiKeyById.load(args.id) : null;
    if (!key || !(await ctx.access.canSeeOrg(key.orgId))) return new AppError('apikey.not_found');
    if (key.ownerId === principal.userId) {
      return !isDelegated(principal) || key.id === principal.apiKeyId || new AppError('auth.delegated_not_allowed');
    }
    if (!(await ctx.access.can(key.orgId, 'apikeys:write'))) return new AppError('auth.forbidden');
    const owner = await ctx.loaders.userById.load(key.ownerId);
    if (owner?.kind === PrincipalKind.SERVICE_ACCOUNT) return mayManageServiceAccountKey(ctx, key, act);
    if (act === 'revoke') return authorityOverAccount(ctx, key.ownerId, 'apikeys:write');
    return principal.superUser || new AppError('apikey.owner_only');
  });

async function mayManageServiceAccountKey(ctx: GraphQLContext, key: ManagedKey, act: KeyAct) {
  const callerRank = await ctx.access.rank(key.orgId);
  if (callerRank < OWNER_RANK && (await effectiveRank(ctx.loaders, key.ownerId, key.orgId)) >= callerRank) {
    return new AppError('member.outranked');
  }
  if (act === 'revoke') return true;
  const held = await ctx.access.permissions(key.orgId);
  return key.scopes.every((scope) => held.has(scope)) || new AppError('role.escalation');
}

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
    rotateKey: canManageKey('rotate'),
    revokeKey: canManageKey('revoke'),
  },
  Org: {
    apiKeys: hasPermission('apikeys:read', parentOrg),
    serviceAccounts: hasPermission('members:read', parentOrg),
  },
  ApiKey: or(isOwnKey, hasPermission('apikeys:read', orgOfParent, 'apikey.not_found')),
  IssuedApiKey: allow,
};
