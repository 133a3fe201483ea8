import type { DataSource } from 'typeorm';
import { KeysetPages } from './core/graphql/keyset-pages';
import { createAuditKeyLoaders } from './core/audit/personal-data';
import { createAuthLoaders } from './modules/auth/auth.loaders';
import { createGroupLoaders } from './modules/groups/groups.loaders';
import { createInvitationLoaders } from './modules/invitations/invitations.loaders';
import { createApiKeyLoaders } from './modules/api-keys/api-keys.loaders';
import { createResourceLoaders } from './modules/resources/resources.loaders';
import { createMemberLoaders } from './modules/members/members.loaders';
import { createNodeLoaders } from './modules/nodes/nodes.loaders';
import { createOrgLoaders } from './modules/orgs/orgs.loaders';
import { createRoleLoaders } from './modules/roles/roles.loaders';
import { createTeamLoaders } from './modules/teams/teams.loaders';
import { createUserLoaders } from './modules/users/users.loaders';

/** Called once per request: a loader shared between requests would leak one caller's rows to another. */
export function createLoaders(db: DataSource) {
  return {
    ...createUserLoaders(db),
    ...createAuthLoaders(db),
    ...createOrgLoaders(db),
    ...createRoleLoaders(db),
    ...createTeamLoaders(db),
    ...createMemberLoaders(db),
    ...createGroupLoaders(db),
    ...createInvitationLoaders(db),
    ...createApiKeyLoaders(db),
    ...createResourceLoaders(db),
    ...createNodeLoaders(db),
    ...createAuditKeyLoaders(db),
    pages: new KeysetPages(db),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
