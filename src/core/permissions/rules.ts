/* eslint-disable @typescript-eslint/no-explicit-any -- graphql-shield hands rules untyped parents and arguments; each locator narrows what it reads. */
import { rule } from 'graphql-shield';
import type { ShieldRule } from 'graphql-shield/typings/types';
import { isDelegated, type GraphQLContext } from '../context/context';
import { AppError } from '../errors/app-error';
import type { ErrorKey } from '../errors/error-codes';
import { isId } from '../ids';
import { isPermission, type Permission } from './permissions';
import { decidedPer } from './shield';

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

const ownUser = (ctx: GraphQLContext, userId: string | undefined) =>
  ctx.principal !== null && userId === ctx.principal.userId;

/** The parent object is the caller's own user record. */
export const isSelf = decidedPer(
  (parent: { id?: string }, _args, ctx) => String(ownUser(ctx, parent.id)),
  rule({ cache: 'no_cache' })((parent: { id?: string }, _args, ctx: GraphQLContext) => ownUser(ctx, parent.id)),
);

/** The parent object belongs to the caller (sessions, memberships). */
export const isOwnedBySelf = decidedPer(
  (parent: { userId?: string }, _args, ctx) => String(ownUser(ctx, parent.userId)),
  rule({ cache: 'no_cache' })((parent: { userId?: string }, _args, ctx: GraphQLContext) => ownUser(ctx, parent.userId)),
);

/** Finds the org an operation or object belongs to; null when its target does not exist. */
export type OrgLocator = (parent: any, args: any, ctx: GraphQLContext) => Promise<string | null> | string | null;

/** Locators that answer at once from the parent and arguments alone: a rule's answer can be keyed by their org. */
const immediateLocators = new WeakSet<OrgLocator>();

function immediate(locate: (parent: any, args: any) => string | null): OrgLocator {
  immediateLocators.add(locate);
  return locate;
}

/** A rule that depends only on the caller and the located org is decided once per org (shield.ts). */
function perLocatedOrg<R extends ShieldRule>(locate: OrgLocator, rule: R): R {
  if (!immediateLocators.has(locate)) return rule;
  return decidedPer((parent, args, ctx) => String(locate(parent, args, ctx)), rule);
}

/** The org named by an argument (`orgId`, or `input.orgId` with a path). */
export const orgFromArg = (...path: string[]): OrgLocator =>
  immediate((_parent, args) => {
    const value = path.reduce<any>((node, key) => node?.[key], args);
    return isId(value) ? value : null;
  });

/** The org the parent object belongs to. */
export const orgOfParent: OrgLocator = immediate((parent: { orgId?: string }) => parent.orgId ?? null);

/** The parent object is itself an org. */
export const parentOrg: OrgLocator = immediate((parent: { id?: string }) => parent.id ?? null);

/**
 * The caller holds `permission` in the located org. An org the caller cannot see (not a member,
 * or no such thing) answers `notFound`, never a hint that it exists; a visible org without the
 * permission answers FORBIDDEN. Past the locator the answer depends only on the caller and the
 * org, so it is decided once per request and org, however many rows of that org ask.
 */
export function hasPermission(permission: Permission, locate: OrgLocator, notFound: ErrorKey = 'org.not_found') {
  return perLocatedOrg(
    locate,
    rule({ cache: 'no_cache' })(async (parent, args, ctx: GraphQLContext) => {
      if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
      const orgId = await locate(parent, args, ctx);
      if (!orgId) return new AppError(notFound);
      return ctx.access.decide(`hasPermission:${permission}:${notFound}:${orgId}`, async () => {
        if (!(await ctx.access.canSeeOrg(orgId))) return new AppError(notFound);
        return (await ctx.access.can(orgId, permission)) || ctx.access.refusal(orgId);
      });
    }),
  );
}

/** The object's org is visible to the caller (any active membership, or a super user); decided once per org. */
export const inVisibleOrg = (locate: OrgLocator, notFound: ErrorKey = 'org.not_found') =>
  perLocatedOrg(
    locate,
    rule({ cache: 'no_cache' })(async (parent, args, ctx: GraphQLContext) => {
      if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
      const orgId = await locate(parent, args, ctx);
      if (orgId === null) return new AppError(notFound);
      return ctx.access.decide(
        `inVisibleOrg:${notFound}:${orgId}`,
        async () => (await ctx.access.canSeeOrg(orgId)) || new AppError(notFound),
      );
    }),
  );

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
