import type { Loaders } from '../../loaders';

/** The tables `node(id)` looks in; uuids are unique across them. */
export const NODE_TABLES = [
  ['User', 'users'],
  ['Org', 'orgs'],
  ['Role', 'roles'],
  ['Membership', 'memberships'],
  ['Invitation', 'invitations'],
  ['ApiKey', 'api_keys'],
  ['Group', 'groups'],
  ['Resource', 'resources'],
  ['Team', 'teams'],
] as const;

export type NodeTypeName = (typeof NODE_TABLES)[number][0];

export async function loadNode(loaders: Loaders, type: NodeTypeName, id: string): Promise<object | null> {
  switch (type) {
    case 'User':
      return loaders.userById.load(id);
    case 'Org':
      return loaders.orgById.load(id);
    case 'Role':
      return loaders.roleById.load(id);
    case 'Membership':
      return loaders.membershipById.load(id);
    case 'Invitation':
      return loaders.invitationById.load(id);
    case 'ApiKey':
      return loaders.apiKeyById.load(id);
    case 'Group':
      return loaders.groupById.load(id);
    case 'Resource':
      return loaders.resourceById.load(id);
    case 'Team':
      return loaders.teamById.load(id);
  }
}
