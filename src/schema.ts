import type { GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { buildSchema } from 'type-graphql';
import { createShield, mergeRuleMaps } from './core/permissions/shield';
import { authRules } from './modules/auth/auth.rules';
import { AuthResolver } from './modules/auth/auth.resolver';
import { MembershipResolver } from './modules/members/membership.resolver';
import { memberRules } from './modules/members/members.rules';
import { orgRules } from './modules/orgs/orgs.rules';
import { roleRules } from './modules/roles/roles.rules';
import { UserResolver } from './modules/users/user.resolver';
import { userRules } from './modules/users/users.rules';

const resolvers = [AuthResolver, MembershipResolver, UserResolver] as const;

const ruleMaps = [authRules, memberRules, orgRules, roleRules, userRules];

/** The schema exactly as type-graphql declares it: what schema.graphql records. */
export function buildDeclaredSchema(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers, validate: { forbidUnknownValues: true }, emitSchemaFile: false });
}

/** The served schema: the declared one behind the single graphql-shield permission tree. */
export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  return applyMiddleware(await buildDeclaredSchema(), createShield(mergeRuleMaps(ruleMaps)));
}

export const permissionRules = () => mergeRuleMaps(ruleMaps);
