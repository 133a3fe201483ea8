import type { DataSource } from 'typeorm';
import { createInvitationLoaders } from './modules/invitations/invitations.loaders';
import { createApiKeyLoaders } from './modules/api-keys/api-keys.loaders';
import { createMemberLoaders } from './modules/members/members.loaders';
import { createNodeLoaders } from './modules/nodes/nodes.loaders';
import { createOrgLoaders } from './modules/orgs/orgs.loaders';
import { createRoleLoaders } from './modules/roles/roles.loaders';
import { createUserLoaders } from './modules/users/users.loaders';

/** Called once per request: a loader shared between requests would leak one caller's rows to another. */
export function createLoaders(db: DataSource) {
  return {
    ...createUserLoaders(db),
    ...createOrgLoaders(db),
    ...createRoleLoaders(db),
    ...createMemberLoaders(db),
    ...createInvitationLoaders(db),
    ...createApiKeyLoaders(db),
    ...createNodeLoaders(db),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
