import type { GraphQLSchema } from 'graphql';
import { allow } from 'graphql-shield';
import { applyMiddleware } from 'graphql-middleware';
import { buildSchema } from 'type-graphql';
import { createShield, mergeRuleMaps } from './core/permissions/shield';
import { authRules } from './modules/auth/auth.rules';
import { AuthResolver } from './modules/auth/auth.resolver';
import { LockingResolver } from './modules/locking/locking.resolver';
import { lockingRules } from './modules/locking/locking.rules';
import { MembershipResolver } from './modules/members/membership.resolver';
import {
  MembersResolver,
  MembershipConnectionResolver,
  OrgMembersResolver,
  UserEdgeResolver,
} from './modules/members/members.resolver';
import { memberRules } from './modules/members/members.rules';
import { NodeResolver } from './modules/nodes/node.resolver';
import { nodeRules } from './modules/nodes/node.rules';
import { OrgResolver } from './modules/orgs/org.resolver';
import { orgRules } from './modules/orgs/orgs.rules';
import { RoleResolver } from './modules/roles/role.resolver';
import { roleRules } from './modules/roles/roles.rules';
import { UserResolver } from './modules/users/user.resolver';
import { userRules } from './modules/users/users.rules';

const resolvers = [
  AuthResolver,
  LockingResolver,
  MembersResolver,
  MembershipConnectionResolver,
  MembershipResolver,
  NodeResolver,
  OrgMembersResolver,
  OrgResolver,
  RoleResolver,
  UserEdgeResolver,
  UserResolver,
] as const;

/** Shared GraphQL plumbing: page info carries no data of its own. */
const coreRules = { PageInfo: allow };

const ruleMaps = [coreRules, authRules, lockingRules, memberRules, nodeRules, orgRules, roleRules, userRules];

/** The schema exactly as type-graphql declares it: what schema.graphql records. */
export function buildDeclaredSchema(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers, validate: { forbidUnknownValues: true }, emitSchemaFile: false });
}

/** The served schema: the declared one behind the single graphql-shield permission tree. */
export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  return applyMiddleware(await buildDeclaredSchema(), createShield(permissionRules()));
}

/** Every module's rules merged into the one shield map. */
export const permissionRules = () => mergeRuleMaps(ruleMaps);
