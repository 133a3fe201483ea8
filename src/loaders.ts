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
import { createOAuthClientLoaders } from './modules/oauth-clients/oauth-clients.loaders';
import { createOrgLoaders } from './modules/orgs/orgs.loaders';
import { createRoleLoaders } from './modules/roles/roles.loaders';
import { createTeamLoaders } from './modules/teams/teams.loaders';
import { createUserLoaders } from './modules/users/users.loaders';

/** Each module's loaders, as one group: a group is made when its request first uses one of them. */
const GROUPS = [
  createUserLoaders,
  createAuthLoaders,
  createOrgLoaders,
  createRoleLoaders,
  createTeamLoaders,
  createMemberLoaders,
  createGroupLoaders,
  createInvitationLoaders,
  createApiKeyLoaders,
  createResourceLoaders,
  createOAuthClientLoaders,
  createNodeLoaders,
  createAuditKeyLoaders,
  (db: DataSource) => ({ pages: new KeysetPages(db) }),
] as const;

type Intersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;

export type Loaders = Intersection<ReturnType<(typeof GROUPS)[number]>>;

const DB = Symbol('db');
const MADE = Symbol('made');

type LazyLoaders = { readonly [DB]: DataSource; readonly [MADE]: Array<Record<string, unknown> | undefined> };

/**
 * The loaders' class: a getter per loader that makes its module's group on first use. Built on the
 * first call, from the names one set of groups has (every data source's groups have the same).
 */
let LoadersClass: (new (db: DataSource) => LazyLoaders) | null = null;

function loadersClass(db: DataSource): new (db: DataSource) => LazyLoaders {
  if (LoadersClass) return LoadersClass;
  class Made implements LazyLoaders {
    readonly [DB]: DataSource;
    readonly [MADE]: Array<Record<string, unknown> | undefined> = [];
    constructor(db: DataSource) {
      this[DB] = db;
    }
  }
  GROUPS.forEach((create, index) => {
    for (const name of Object.keys(create(db))) {
      if (name in Made.prototype) throw new Error(`two loader groups name ${name}`);
      Object.defineProperty(Made.prototype, name, {
        enumerable: true,
        get(this: LazyLoaders) {
          return (this[MADE][index] ??= create(this[DB]) as Record<string, unknown>)[name];
        },
      });
    }
  });
  return (LoadersClass = Made);
}

/**
 * Called once per request: a loader shared between requests would leak one caller's rows to
 * another. Most requests use a few of the dozens of loaders (`me` one), so each module's are made
 * when first asked for rather than all of them for every request.
 */
export function createLoaders(db: DataSource): Loaders {
  const Made = loadersClass(db);
  return new Made(db) as unknown as Loaders;
}
