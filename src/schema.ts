import type { GraphQLSchema } from 'graphql';
import { allow } from 'graphql-shield';
import { buildSchema } from 'type-graphql';
import { connectionTypeNames } from './core/graphql/connection-type';
import { applyFieldLayers, type FieldLayer } from './core/graphql/field-layers';
import { freshLoadersAfterMutation } from './core/graphql/fresh-loaders';
import { listBudgetLayer } from './core/graphql/list-budget';
import { validateArgument } from './core/graphql/validate-argument';
import { credentialGate } from './core/permissions/credential-gate';
import { CREDENTIAL_POLICY } from './core/permissions/credential-policy';
import { withMutationDenialAudit } from './core/permissions/mutation-denial-audit';
import { checkRuleTree, mergeRuleMaps, shieldLayerOf } from './core/permissions/shield';
import { ApiKeyResolver, OrgApiKeysResolver, UserApiKeysResolver } from './modules/api-keys/api-key.resolver';
import { apiKeyRules } from './modules/api-keys/api-keys.rules';
import { AuditRetentionResolver } from './modules/audit/audit-retention.resolver';
import { AuditLogConnectionResolver, AuditLogResolver, UserAuditLogsResolver } from './modules/audit/audit.resolver';
import { auditRules } from './modules/audit/audit.rules';
import { AuditChangesResolver } from './modules/audit/audit-changes.resolver';
import { DeletionResolver } from './modules/deletion/deletion.resolver';
import { deletionRules } from './modules/deletion/deletion.rules';
import { authRules } from './modules/auth/auth.rules';
import { EmailVerificationResolver } from './modules/email-verification/email-verification.resolver';
import { emailVerificationRules } from './modules/email-verification/email-verification.rules';
import { AuthResolver } from './modules/auth/auth.resolver';
import { SigningKeysResolver } from './modules/auth/signing-keys.resolver';
import { signingKeyRules } from './modules/auth/signing-keys.rules';
import { GroupResolver, OrgGroupsResolver, UserGroupsResolver } from './modules/groups/group.resolver';
import { groupRules } from './modules/groups/groups.rules';
import { InvitationResolver, OrgInvitationsResolver } from './modules/invitations/invitation.resolver';
import { invitationRules } from './modules/invitations/invitations.rules';
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
import { OAuthClientResolver, OrgOAuthClientsResolver } from './modules/oauth-clients/oauth-client.resolver';
import { oauthClientRules } from './modules/oauth-clients/oauth-clients.rules';
import { OrgResolver } from './modules/orgs/org.resolver';
import { orgRules } from './modules/orgs/orgs.rules';
import { PasswordsResolver } from './modules/passwords/passwords.resolver';
import { passwordRules } from './modules/passwords/passwords.rules';
import {
  AccessGrantResolver,
  GroupGrantsResolver,
  OrgResourcesResolver,
  ResourceResolver,
} from './modules/resources/resource.resolver';
import { resourceRules } from './modules/resources/resources.rules';
import { RoleResolver } from './modules/roles/role.resolver';
import { roleRules } from './modules/roles/roles.rules';
import { OrgTeamsResolver, TeamResolver, UserTeamsResolver } from './modules/teams/team.resolver';
import { teamRules } from './modules/teams/teams.rules';
import { UserImportResolver } from './modules/user-import/user-import.resolver';
import { userImportRules } from './modules/user-import/user-import.rules';
import { IMPORT_RESULT_LISTS } from './modules/user-import/user-import.type';
import { UserResolver } from './modules/users/user.resolver';
import { userRules } from './modules/users/users.rules';

const resolvers = [
  AccessGrantResolver,
  GroupGrantsResolver,
  OrgResourcesResolver,
  ResourceResolver,
  ApiKeyResolver,
  OrgApiKeysResolver,
  UserApiKeysResolver,
  UserAuditLogsResolver,
  AuditLogConnectionResolver,
  AuditLogResolver,
  AuditRetentionResolver,
  AuditChangesResolver,
  AuthResolver,
  EmailVerificationResolver,
  DeletionResolver,
  GroupResolver,
  InvitationResolver,
  LockingResolver,
  MembersResolver,
  MembershipConnectionResolver,
  MembershipResolver,
  NodeResolver,
  OAuthClientResolver,
  OrgGroupsResolver,
  OrgInvitationsResolver,
  OrgMembersResolver,
  OrgOAuthClientsResolver,
  OrgResolver,
  OrgTeamsResolver,
  PasswordsResolver,
  RoleResolver,
  SigningKeysResolver,
  TeamResolver,
  UserEdgeResolver,
  UserImportResolver,
  UserGroupsResolver,
  UserResolver,
  UserTeamsResolver,
] as const;

/** Lists that only report on the request's own input (see enforceListBudget). */
const INPUT_BOUNDED_LISTS: ReadonlySet<string> = new Set([...IMPORT_RESULT_LISTS]);

/** Shared GraphQL plumbing: page info and the generic connections carry no data of their own. */
const coreRules = () => ({
  PageInfo: allow,
  ...Object.fromEntries(connectionTypeNames().map((name) => [name, allow])),
});

const ruleMaps = () => [
  coreRules(),
  resourceRules,
  apiKeyRules,
  auditRules,
  authRules,
  emailVerificationRules,
  deletionRules,
  groupRules,
  invitationRules,
  lockingRules,
  memberRules,
  nodeRules,
  oauthClientRules,
  orgRules,
  passwordRules,
  roleRules,
  signingKeyRules,
  teamRules,
  userImportRules,
  userRules,
];

/** The schema exactly as type-graphql declares it: what schema.graphql records. */
export function buildDeclaredSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    validateFn: validateArgument,
    emitSchemaFile: false,
  });
}

/**
 * The served schema: the declared one behind the credential gate (which credentials reach each root
 * field) and the single graphql-shield permission tree; refusals of mutations by either are audited.
 * Each field gets only the layers it needs, outermost first: for a root mutation the denial audit,
 * the credential gate, its rule, the list budget and fresh loaders; for a query field the gate,
 * its rule and the budget; for any other field its rule (none when `allow`) and, for a list or
 * connection, the budget.
 */
export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  const schema = await buildDeclaredSchema();
  const rules = permissionRules();
  checkRuleTree(schema, rules);
  const gate = credentialGate(CREDENTIAL_POLICY);
  const mutationType = schema.getMutationType();
  return applyFieldLayers(schema, (type, field) => {
    const isMutation = type === mutationType;
    const budget = listBudgetLayer(INPUT_BOUNDED_LISTS, type, field, isMutation);
    const inner: FieldLayer[] = budget ? [budget] : [];
    if (isMutation)
      return [
        ...withMutationDenialAudit([gate, ...shieldLayerOf(rules, type, field)]),
        ...inner,
        freshLoadersAfterMutation,
      ];
    const guards = type === schema.getQueryType() ? [gate] : [];
    return [...guards, ...shieldLayerOf(rules, type, field), ...inner];
  });
}

/** Every module's rules merged into the one shield map. */
export const permissionRules = () => mergeRuleMaps(ruleMaps());
