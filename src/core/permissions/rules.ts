/* eslint-disable @typescript-eslint/no-explicit-any -- graphql-shield hands rules untyped parents and arguments; each locator narrows what it reads. */
import { rule } from 'graphql-shield';
import { isDelegated, type GraphQLContext } from '../context/context';
import { AppError } from '../errors/app-error';
import type { ErrorKey } from '../errors/error-codes';
import { isId } from '../ids';
import { isPermission, type Permission } from './permissions';

/**
 * Rules that depend only on the caller may share a decision within one operation ('contextual');
 * rules that look at the parent object or arguments must not ('no_cache'), or one decision would
 * be reused for a different object.
 */
export const isAuthenticated = rule({ cache: 'contextual' })(
  (_parent, _args, ctx: GraphQLContext) =>
    ctx.principal !== null || (ctx.authError ?? new AppError('auth.unauthenticated')),
);

export const isSuperUser = rule({ cache: 'contextual' })(
  (_parent, _args, ctx: GraphQLContext) => ctx.principal?.superUser === true,
);

/**
 * Self-service: a person signed in with a first-party session. Delegated credentials (API keys)
 * never reach it, and a service account never holds a session.
 */
export const isSignedInPerson = rule({ cache: 'contextual' })((_parent, _args, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  return (!isDelegated(ctx.principal) && ctx.principal.kind !== 'SERVICE_ACCOUNT') || new AppError('auth.forbidden');
});

/** The parent object is the caller's own user record. */
export const isSelf = rule({ cache: 'no_cache' })(
  (parent: { id?: string }, _args, ctx: GraphQLContext) => ctx.principal !== null && parent.id === ctx.principal.userId,
);

/** The parent object belongs to the caller (sessions, memberships). */
export const isOwnedBySelf = rule({ cache: 'no_cache' })(
  (parent: { userId?: string }, _args, ctx: GraphQLContext) =>
    ctx.principal !== null && parent.userId === ctx.principal.userId,
);

/** Finds the org an operation or object belongs to; null when its target does not exist. */
export type OrgLocator = (parent: any, args: any, ctx: GraphQLContext) => Promise<string | null> | string | null;

/** The org named by an argument (`orgId`, or `input.orgId` with a path). */
export const orgFromArg =
  (...path: string[]): OrgLocator =>
  (_parent, args) => {
    const value = path.reduce<any>((node, key) => node?.[key], args);
    return isId(value) ? value : null;
  };

/** The org the parent object belongs to. */
export const orgOfParent: OrgLocator = (parent: { orgId?: string }) => parent.orgId ?? null;

/** The parent object is itself an org. */
export const parentOrg: OrgLocator = (parent: { id?: string }) => parent.id ?? null;

/**
 * The caller holds `permission` in the located org. An org the caller cannot see (not a member,
 * or no such thing) answers `notFound`, never a hint that it exists; a visible org without the
 * permission answers FORBIDDEN. Past the locator the answer depends only on the caller and the
 * org, so it is decided once per request and org, however many rows of that org ask.
 */
export function hasPermission(permission: Permission, locate: OrgLocator, notFound: ErrorKey = 'org.not_found') {
  return rule({ cache: 'no_cache' })(async (parent, args, ctx: GraphQLContext) => {
    if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
    const orgId = await locate(parent, args, ctx);
    if (!orgId) return new AppError(notFound);
    return ctx.access.decide(`hasPermission:${permission}:${notFound}:${orgId}`, async () => {
      if (!(await ctx.access.canSeeOrg(orgId))) return new AppError(notFound);
      return (await ctx.access.can(orgId, permission)) || ctx.access.refusal(orgId);
    });
  });
}

/** The object's org is visible to the caller (any active membership, or a super user); decided once per org. */
export const inVisibleOrg = (locate: OrgLocator, notFound: ErrorKey = 'org.not_found') =>
  rule({ cache: 'no_cache' })(async (parent, args, ctx: GraphQLContext) => {
    if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
    const orgId = await locate(parent, args, ctx);
    if (orgId === null) return new AppError(notFound);
    return ctx.access.decide(
      `inVisibleOrg:${notFound}:${orgId}`,
      async () => (await ctx.access.canSeeOrg(orgId)) || new AppError(notFound),
    );
  });

/**
 * No escalation: every permission the operation would grant (read from its arguments) is one the
 * caller holds in the located org. Unknown strings are left to input validation (BAD_USER_INPUT).
 */
export function grantsOnlyHeldPermissions(
  granted: (args: any) => readonly string[] | null | undefined,
  locate: OrgLocator,
) {
  return rule({ cache: 'no_cache' })(async (parent, args, ctx: GraphQLContext) => {
    const orgId = await locate(parent, args, ctx);
    if (!orgId) return false;
    const held = await ctx.access.permissions(orgId);
    const grantable = (granted(args) ?? []).filter(isPermission);
    return grantable.every((permission) => held.has(permission)) || new AppError('role.escalation');
  });
}

/**
 * No escalation through roles: the role an operation would give (named by its arguments) belongs
 * to the located org and holds no permission the caller lacks there.
 */
export function offersOnlyHeldRole(roleIdOf: (args: any) => unknown, locate: OrgLocator) {
  return rule({ cache: 'no_cache' })(async (parent, args, ctx: GraphQLContext) => {
    const orgId = await locate(parent, args, ctx);
    const roleId = roleIdOf(args);
    const role = isId(roleId) ? await ctx.loaders.roleById.load(roleId) : null;
    if (!orgId || !role || role.orgId !== orgId) return new AppError('role.not_found', { field: 'roleId' });
    const held = await ctx.access.permissions(orgId);
    return role.permissions.every((permission) => held.has(permission)) || new AppError('role.escalation');
  });
}
