import { PERMISSIONS } from '../../src/core/permissions/permissions';
import { addMember, createOrgAs, person, roleId, type Person } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

// Keys are credentials of their owner's account, and a custom role is protected by the most
// powerful built-in role it can act like: an admin can neither mint a token for a higher-ranked
// owner by rotating their key, nor act on a member whose custom role merely lacks one permission.

const CREATE_KEY = 'mutation ($input: CreateKeyInput!) { createKey(input: $input) { apiKey { id } token } }';
const ROTATE = 'mutation ($id: ID!) { rotateKey(id: $id) { token apiKey { id } } }';
const REVOKE = 'mutation ($id: ID!) { revokeKey(id: $id) { id status } }';
const CREATE_SA = 'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }';
const SET_PASSWORD =
  'mutation ($userId: ID!, $password: String!) { setPassword(userId: $userId, password: $password) }';
const CHANGE_ROLE = `mutation ($orgId: ID!, $userId: ID!, $roleId: ID!) {
  changeRole(orgId: $orgId, userId: $userId, roleId: $roleId) { id }
}`;
const CREATE_ROLE = 'mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }';
const UPDATE_ROLE = 'mutation ($id: ID!, $input: UpdateRoleInput!) { updateRole(id: $id, input: $input) { id } }';
const DELETE_ROLE = 'mutation ($id: ID!) { deleteRole(id: $id) }';

let server: TestGateway;
let orgId: string;
let owner: Person;
let admin: Person;

const reasonOf = (response: { errors?: Array<{ extensions?: Record<string, any> }> }) =>
  response.errors?.[0]?.extensions?.reason ?? response.errors?.[0]?.extensions?.code ?? null;

async function keyOf(token: string, input: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const response = await server.graphql(CREATE_KEY, { input }, { token });
  if (!response.data?.createKey) throw new Error(JSON.stringify(response.errors));
  return { id: response.data.createKey.apiKey.id, token: response.data.createKey.token };
}

async function keyRows(ownerId: string): Promise<number> {
  const [{ count }] = await server.sql('SELECT count(*)::int AS count FROM api_keys WHERE owner_id = $1', [ownerId]);
  return count;
}

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'key-owner');
  orgId = await createOrgAs(server, owner.token, 'Keys Org');
  admin = await person(server, 'key-admin', { orgId, role: 'admin' });
});

afterAll(async () => {
  await server.close();
});

describe("an admin and other people's keys", () => {
  it("cannot rotate (mint a token for) or revoke the owner's personal key", async () => {
    const ownerKey = await keyOf(owner.token, {
      ownerId: owner.id,
      orgId,
      name: 'owner automation',
      scopes: ['org:update', 'org:delete', 'members:password'],
    });
    const before = await keyRows(owner.id);
    expect(reasonOf(await server.graphql(ROTATE, { id: ownerKey.id }, { token: admin.token }))).toBe(
      'apikey.owner_only',
    );
    expect(reasonOf(await server.graphql(REVOKE, { id: ownerKey.id }, { token: admin.token }))).toBe(
      'member.outranked',
    );
    expect(await keyRows(owner.id)).toBe(before);
    const [row] = await server.sql('SELECT status FROM api_keys WHERE id = $1', [ownerKey.id]);
    expect(row.status).toBe('ACTIVE');
  });

  it("cannot rotate the super user's key either, even as a member of the super user's org", async () => {
    const superUser = await server.login();
    const [acme] = await server.sql(`SELECT id FROM orgs WHERE name = 'Acme'`);
    const acmeAdmin = await person(server, 'acme-admin', { orgId: acme.id, role: 'admin' });
    const superKey = await keyOf(superUser.accessToken, {
      ownerId: superUser.userId,
      orgId: acme.id,
      name: 'narrow',
      scopes: ['resources:read'],
    });
    expect(reasonOf(await server.graphql(ROTATE, { id: superKey.id }, { token: acmeAdmin.token }))).toBe(
      'apikey.owner_only',
    );
    expect(reasonOf(await server.graphql(REVOKE, { id: superKey.id }, { token: acmeAdmin.token }))).toBe(
      'account.super_user',
    );
  });

  it("revokes a lower-ranked member's personal key", async () => {
    const editor = await person(server, 'key-editor', { orgId, role: 'admin' });
    const key = await keyOf(editor.token, { ownerId: editor.id, orgId, name: 'mine', scopes: ['teams:write'] });
    await server.sql('UPDATE memberships SET role_id = $1 WHERE user_id = $2 AND org_id = $3', [
      await roleId(server, orgId, 'editor'),
      editor.id,
      orgId,
    ]);
    const revoked = await server.graphql(REVOKE, { id: key.id }, { token: admin.token });
    expect(revoked.data?.revokeKey.status).toBe('REVOKED');
  });

  it("rotates a service account's key only when outranking the service account", async () => {
    const ownerLike = await server.graphql(
      CREATE_SA,
      { input: { orgId, name: 'deployer', roleId: await roleId(server, orgId, 'owner') } },
      { token: owner.token },
    );
    const serviceAccount = ownerLike.data.createServiceAccount.id as string;
    const key = await keyOf(owner.token, {
      ownerId: serviceAccount,
      orgId,
      name: 'deploy',
      scopes: ['org:update', 'org:delete'],
    });
    expect(reasonOf(await server.graphql(ROTATE, { id: key.id }, { token: admin.token }))).toBe('member.outranked');
    expect(reasonOf(await server.graphql(REVOKE, { id: key.id }, { token: admin.token }))).toBe('member.outranked');
    expect((await server.graphql(ROTATE, { id: key.id }, { token: owner.token })).data?.rotateKey.token).toBeTruthy();

    const viewerLike = await server.graphql(
      CREATE_SA,
      { input: { orgId, name: 'reporter', roleId: await roleId(server, orgId, 'viewer') } },
      { token: owner.token },
    );
    const reporterKey = await keyOf(admin.token, {
      ownerId: viewerLike.data.createServiceAccount.id,
      orgId,
      name: 'report',
      scopes: ['members:read'],
    });
    expect(
      (await server.graphql(ROTATE, { id: reporterKey.id }, { token: admin.token })).data?.rotateKey.token,
    ).toBeTruthy();
  });
});

describe('custom roles are protected by the most powerful built-in role they can act like', () => {
  it('an admin cannot act on a member whose role is everything but resources:read', async () => {
    const almostOwner = await server.graphql(
      CREATE_ROLE,
      {
        input: {
          orgId,
          name: 'Almost owner',
          permissions: PERMISSIONS.filter((permission) => permission !== 'resources:read'),
        },
      },
      { token: owner.token },
    );
    const target = await person(server, 'almost-owner');
    await addMember(server, orgId, target.id, 'viewer');
    await server.sql('UPDATE memberships SET role_id = $1 WHERE user_id = $2', [
      almostOwner.data.createRole.id,
      target.id,
    ]);
    const [before] = await server.sql('SELECT password_hash FROM users WHERE id = $1', [target.id]);

    const set = await server.graphql(
      SET_PASSWORD,
      { userId: target.id, password: 'a password the admin chose' },
      { token: admin.token },
    );
    expect(reasonOf(set)).toBe('member.outranked');
    const demote = await server.graphql(
      CHANGE_ROLE,
      { orgId, userId: target.id, roleId: await roleId(server, orgId, 'viewer') },
      { token: admin.token },
    );
    expect(reasonOf(demote)).toBe('member.outranked');
    const [after] = await server.sql('SELECT password_hash FROM users WHERE id = $1', [target.id]);
    expect(after.password_hash).toBe(before.password_hash);
    // The owner outranks everyone in the org.
    const byOwner = await server.graphql(
      SET_PASSWORD,
      { userId: target.id, password: 'a password the owner chose' },
      { token: owner.token },
    );
    expect(byOwner.data?.setPassword).toBe(true);
  });

  it('an admin cannot narrow an owner-level role to demote its holders, but may change a lower one', async () => {
    const everything = await server.graphql(
      CREATE_ROLE,
      { input: { orgId, name: 'Co-owner', permissions: [...PERMISSIONS] } },
      { token: owner.token },
    );
    const coOwnerRole = everything.data.createRole.id as string;
    const holder = await person(server, 'co-owner');
    await addMember(server, orgId, holder.id, 'viewer');
    await server.sql('UPDATE memberships SET role_id = $1 WHERE user_id = $2', [coOwnerRole, holder.id]);

    const narrowed = await server.graphql(
      UPDATE_ROLE,
      { id: coOwnerRole, input: { name: 'Demoted', permissions: ['org:read'] } },
      { token: admin.token },
    );
    expect(reasonOf(narrowed)).toBe('member.outranked');
    expect(reasonOf(await server.graphql(DELETE_ROLE, { id: coOwnerRole }, { token: admin.token }))).toBe(
      'member.outranked',
    );
    const [role] = await server.sql('SELECT name, permissions FROM roles WHERE id = $1', [coOwnerRole]);
    expect(role).toEqual({ name: 'Co-owner', permissions: [...PERMISSIONS].sort() });
    expect(
      reasonOf(
        await server.graphql(
          SET_PASSWORD,
          { userId: holder.id, password: 'a password the admin chose' },
          { token: admin.token },
        ),
      ),
    ).toBe('member.outranked');

    const readers = await server.graphql(
      CREATE_ROLE,
      { input: { orgId, name: 'Readers', permissions: ['org:read', 'members:read'] } },
      { token: admin.token },
    );
    const renamed = await server.graphql(
      UPDATE_ROLE,
      { id: readers.data.createRole.id, input: { name: 'Readers too', permissions: ['org:read'] } },
      { token: admin.token },
    );
    expect(renamed.errors).toBeUndefined();
  });

  it("an admin cannot strip peers of an admin group's role; the owner can", async () => {
    const created = await server.graphql(
      'mutation ($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { orgId, name: 'Admin desk', roleId: await roleId(server, orgId, 'admin') } },
      { token: admin.token },
    );
    const groupId = created.data.createGroup.id as string;
    const peer = await person(server, 'group-peer', { orgId, role: 'viewer' });
    const add = await server.graphql(
      'mutation ($groupId: ID!, $ids: [ID!]!) { addGroupMembers(groupId: $groupId, principalIds: $ids) { id } }',
      { groupId, ids: [peer.id] },
      { token: admin.token },
    );
    expect(add.errors).toBeUndefined();

    const REMOVE_FROM_GROUP =
      'mutation ($groupId: ID!, $ids: [ID!]!) { removeGroupMembers(groupId: $groupId, principalIds: $ids) { id } }';
    const CLEAR_ROLE = 'mutation ($id: ID!) { updateGroup(id: $id, input: { roleId: null }) { id } }';
    const DELETE_GROUP = 'mutation ($id: ID!) { deleteGroup(id: $id) }';
    expect(reasonOf(await server.graphql(REMOVE_FROM_GROUP, { groupId, ids: [peer.id] }, { token: admin.token }))).toBe(
      'member.outranked',
    );
    expect(reasonOf(await server.graphql(CLEAR_ROLE, { id: groupId }, { token: admin.token }))).toBe(
      'member.outranked',
    );
    expect(reasonOf(await server.graphql(DELETE_GROUP, { id: groupId }, { token: admin.token }))).toBe(
      'member.outranked',
    );
    expect(await server.sql('SELECT 1 FROM group_members WHERE group_id = $1', [groupId])).toHaveLength(1);
    const byOwner = await server.graphql(REMOVE_FROM_GROUP, { groupId, ids: [peer.id] }, { token: owner.token });
    expect(byOwner.errors).toBeUndefined();
  });
});
