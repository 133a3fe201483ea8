/** Every permission string of permissions.md; roles and API key scopes hold subsets of these. */
export const PERMISSIONS = [
  'org:read',
  'org:update',
  'org:delete',
  'members:read',
  'members:invite',
  'members:update',
  'members:remove',
  'members:activate',
  'members:lock',
  'members:password',
  'teams:read',
  'teams:write',
  'groups:read',
  'groups:write',
  'roles:read',
  'roles:write',
  'apikeys:read',
  'apikeys:write',
  'serviceaccounts:write',
  'clients:read',
  'clients:write',
  'resources:read',
  'resources:write',
  'access:grant',
  'audit:read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const KNOWN = new Set<string>(PERMISSIONS);

export function isPermission(value: string): value is Permission {
  return KNOWN.has(value);
}

const VIEWER: Permission[] = ['org:read', 'members:read', 'teams:read', 'groups:read', 'roles:read', 'resources:read'];
const EDITOR: Permission[] = [...VIEWER, 'teams:write', 'groups:write', 'resources:write'];
// A set first: EDITOR already holds members:read, which roles would otherwise store twice.
const ADMIN: Permission[] = [
  ...new Set<Permission>([
    ...EDITOR,
    ...PERMISSIONS.filter((permission) => permission.startsWith('members:')),
    'roles:write',
    'apikeys:read',
    'apikeys:write',
    'serviceaccounts:write',
    'clients:read',
    'clients:write',
    'access:grant',
    'audit:read',
  ]),
];
const OWNER: Permission[] = [...PERMISSIONS];

export type BuiltInRoleKey = 'viewer' | 'editor' | 'admin' | 'owner';

/** The built-in roles every org gets, lowest rank first. */
export const BUILT_IN_ROLES: ReadonlyArray<{
  key: BuiltInRoleKey;
  name: string;
  rank: number;
  permissions: Permission[];
}> = [
  { key: 'viewer', name: 'Viewer', rank: 1, permissions: VIEWER },
  { key: 'editor', name: 'Editor', rank: 2, permissions: EDITOR },
  { key: 'admin', name: 'Admin', rank: 3, permissions: ADMIN },
  { key: 'owner', name: 'Owner', rank: 4, permissions: OWNER },
];

/**
 * The rank a caller acts with: that of the highest built-in role all of whose permissions it holds
 * (a role holding none of viewer's ranks 0). A lower bound: a custom role is never trusted with
 * more than the built-in role it fully covers.
 */
export function rankOf(permissions: readonly string[]): number {
  const held = new Set(permissions);
  let rank = 0;
  for (const role of BUILT_IN_ROLES) {
    if (role.permissions.every((permission) => held.has(permission))) rank = role.rank;
  }
  return rank;
}

/**
 * The rank a target is protected by: that of the lowest built-in role holding all of its
 * permissions. An upper bound: a custom role that lacks one viewer permission but holds
 * org:delete is protected like an owner, not left at rank 0 for any admin to act on. Rank rules
 * compare a caller's `rankOf` with a target's `targetRankOf`.
 */
export function targetRankOf(permissions: readonly string[]): number {
  const held = new Set(permissions);
  if (held.size === 0) return 0;
  const covering = BUILT_IN_ROLES.find((role) =>
    [...held].every((permission) => role.permissions.includes(permission as Permission)),
  );
  return covering?.rank ?? BUILT_IN_ROLES[BUILT_IN_ROLES.length - 1].rank;
}
