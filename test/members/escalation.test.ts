import { createOrgAs, person, roleId, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let orgId: string;
let owner: Person;
let admin: Person;
let viewer: Person;

const CHANGE_ROLE = `mutation ($orgId: ID!, $userId: ID!, $roleId: ID!) {
  changeRole(orgId: $orgId, userId: $userId, roleId: $roleId) { id role { key } }
}`;
const REMOVE = 'mutation ($orgId: ID!, $userId: ID!) { removeMember(orgId: $orgId, userId: $userId) }';
const CREATE_ROLE = `mutation ($input: CreateRoleInput!) { createRole(input: $input) { id key permissions } }`;

const changeRole = (token: string, userId: string, key: string) =>
  roleId(server, orgId, key).then((id) => server.graphql(CHANGE_ROLE, { orgId, userId, roleId: id }, { token }));

async function roleKeyOf(userId: string, org = orgId): Promise<string> {
  const [row] = await server.sql(
    'SELECT r.key FROM memberships m JOIN roles r ON r.id = m.role_id WHERE m.user_id = $1 AND m.org_id = $2',
    [userId, org],
  );
  return row?.key;
}

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'olivia');
  orgId = await createOrgAs(server, owner.token, 'Escalation Inc');
  admin = await person(server, 'adrian', { orgId, role: 'admin' });
  viewer = await person(server, 'violet', { orgId, role: 'viewer' });
});

afterAll(async () => {
  await server.close();
});

describe('no escalation', () => {
  it('a viewer cannot make anyone an admin, themselves included', async () => {
    const target = await person(server, 'target1', { orgId, role: 'viewer' });
    expect(errorCode(await changeRole(viewer.token, target.id, 'admin'))).toBe('FORBIDDEN');
    expect(errorCode(await changeRole(viewer.token, viewer.id, 'admin'))).toBe('FORBIDDEN');
    expect(await roleKeyOf(target.id)).toBe('viewer');
    expect(await roleKeyOf(viewer.id)).toBe('viewer');
  });

  it('an admin cannot make anyone an owner', async () => {
    const target = await person(server, 'target2', { orgId, role: 'viewer' });
    const response = await changeRole(admin.token, target.id, 'owner');
    expect(errorCode(response)).toBe('FORBIDDEN');
    expect(response.errors?.[0].extensions?.reason).toBe('role.escalation');
    expect(await roleKeyOf(target.id)).toBe('viewer');
  });

  it('an admin may promote a lower-ranked member up to admin', async () => {
    const target = await person(server, 'target3', { orgId, role: 'viewer' });
    const response = await changeRole(admin.token, target.id, 'admin');
    expect(response.errors).toBeUndefined();
    expect(response.data.changeRole.role.key).toBe('admin');
  });

  it('an admin cannot act on another admin or an owner', async () => {
    const peer = await person(server, 'peer', { orgId, role: 'admin' });
    const demotePeer = await changeRole(admin.token, peer.id, 'viewer');
    expect(demotePeer.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'member.outranked' });
    expect(errorCode(await changeRole(admin.token, owner.id, 'viewer'))).toBe('FORBIDDEN');
    expect(errorCode(await server.graphql(REMOVE, { orgId, userId: peer.id }, { token: admin.token }))).toBe(
      'FORBIDDEN',
    );
    expect(await roleKeyOf(peer.id)).toBe('admin');
    expect(await roleKeyOf(owner.id)).toBe('owner');
  });

  it('nobody changes their own role or removes themselves, owners included', async () => {
    const selfDemotion = await changeRole(owner.token, owner.id, 'viewer');
    expect(selfDemotion.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'member.self_change' });
    expect(errorCode(await changeRole(admin.token, admin.id, 'editor'))).toBe('FORBIDDEN');
    expect(errorCode(await server.graphql(REMOVE, { orgId, userId: admin.id }, { token: admin.token }))).toBe(
      'FORBIDDEN',
    );
    expect(await roleKeyOf(owner.id)).toBe('owner');
    expect(await roleKeyOf(admin.id)).toBe('admin');
  });

  it('nobody creates a custom role holding a permission they lack', async () => {
    const response = await server.graphql(
      CREATE_ROLE,
      { input: { orgId, name: 'Shadow owner', permissions: ['members:read', 'org:delete'] } },
      { token: admin.token },
    );
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'role.escalation' });
    expect(await server.sql(`SELECT 1 FROM roles WHERE name = 'Shadow owner'`)).toHaveLength(0);
  });

  it('nobody widens a custom role past their own permissions', async () => {
    const created = await server.graphql(
      CREATE_ROLE,
      { input: { orgId, name: 'Helpdesk', permissions: ['members:read'] } },
      { token: admin.token },
    );
    expect(created.errors).toBeUndefined();
    const response = await server.graphql(
      'mutation ($id: ID!) { updateRole(id: $id, input: { permissions: ["members:read", "org:update"] }) { id } }',
      { id: created.data.createRole.id },
      { token: admin.token },
    );
    expect(errorCode(response)).toBe('FORBIDDEN');
    const [role] = await server.sql('SELECT permissions FROM roles WHERE id = $1', [created.data.createRole.id]);
    expect(role.permissions).toEqual(['members:read']);
  });

  it('rejects unknown permission strings as bad input', async () => {
    const response = await server.graphql(
      CREATE_ROLE,
      { input: { orgId, name: 'Typo', permissions: ['members:raed'] } },
      { token: owner.token },
    );
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0].extensions?.field).toContain('permissions');
  });
});

describe('the last owner', () => {
  it('cannot be demoted or removed, even by a super user', async () => {
    const superUser = await server.login();
    const demote = await changeRole(superUser.accessToken, owner.id, 'admin');
    expect(demote.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'member.last_owner' });
    const remove = await server.graphql(REMOVE, { orgId, userId: owner.id }, { token: superUser.accessToken });
    expect(errorCode(remove)).toBe('CONFLICT');
    expect(await roleKeyOf(owner.id)).toBe('owner');
  });

  it('can be demoted once another owner exists', async () => {
    const soloOwner = await person(server, 'solo');
    const org = await createOrgAs(server, soloOwner.token, 'Two Owners');
    const second = await person(server, 'second', { orgId: org, role: 'owner' });
    const id = await roleId(server, org, 'admin');
    const response = await server.graphql(
      CHANGE_ROLE,
      { orgId: org, userId: soloOwner.id, roleId: id },
      { token: second.token },
    );
    expect(response.errors).toBeUndefined();
    expect(await roleKeyOf(soloOwner.id, org)).toBe('admin');
  });

  it('survives two owners demoting each other at the same moment', async () => {
    for (let round = 0; round < 5; round++) {
      const first = await person(server, `first${round}`);
      const org = await createOrgAs(server, first.token, `Race ${round}`);
      const second = await person(server, `second${round}`, { orgId: org, role: 'owner' });
      const adminRole = await roleId(server, org, 'admin');
      const results = await Promise.all([
        server.graphql(CHANGE_ROLE, { orgId: org, userId: second.id, roleId: adminRole }, { token: first.token }),
        server.graphql(CHANGE_ROLE, { orgId: org, userId: first.id, roleId: adminRole }, { token: second.token }),
      ]);
      const [{ owners }] = await server.sql(
        `SELECT count(*)::int AS owners FROM memberships m JOIN roles r ON r.id = m.role_id WHERE m.org_id = $1 AND r.key = 'owner'`,
        [org],
      );
      expect(owners).toBe(1);
      expect(results.filter((result) => result.errors === undefined)).toHaveLength(1);
      expect(results.map(errorCode).filter(Boolean)).toEqual([expect.stringMatching(/^(CONFLICT|FORBIDDEN)$/)]);
    }
  });
});

describe('removeMember', () => {
  it('keeps the account, ends its access to the org at once, and clears its org data', async () => {
    const leaving = await person(server, 'leaving', { orgId, role: 'editor' });
    const [team] = await server.sql(`INSERT INTO teams (org_id, name, slug) VALUES ($1, 'Ops', 'ops') RETURNING id`, [
      orgId,
    ]);
    await server.sql('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)', [team.id, leaving.id]);
    await server.sql('UPDATE users SET default_org_id = $1 WHERE id = $2', [orgId, leaving.id]);

    const response = await server.graphql(REMOVE, { orgId, userId: leaving.id }, { token: owner.token });
    expect(response.data.removeMember).toBe(true);

    expect(await server.sql('SELECT 1 FROM users WHERE id = $1', [leaving.id])).toHaveLength(1);
    expect(await server.sql('SELECT 1 FROM team_members WHERE user_id = $1', [leaving.id])).toHaveLength(0);
    expect(
      (await server.sql('SELECT default_org_id FROM users WHERE id = $1', [leaving.id]))[0].default_org_id,
    ).toBeNull();
    expect(
      errorCode(
        await server.graphql(
          'query ($orgId: ID!) { users(orgId: $orgId) { totalCount } }',
          { orgId },
          { token: leaving.token },
        ),
      ),
    ).toBe('NOT_FOUND');
    expect((await server.graphql('{ me { id memberships { id } } }', {}, { token: leaving.token })).data.me).toEqual({
      id: leaving.id,
      memberships: [],
    });
    const [audit] = await server.sql(`SELECT * FROM audit_logs WHERE action = 'member.removed' AND target_id = $1`, [
      leaving.id,
    ]);
    expect(audit).toMatchObject({ actor_id: owner.id, org_id: orgId, target_type: 'User' });
  });

  it('answers NOT_FOUND for someone who is not a member', async () => {
    const outsider = await person(server, 'outsider');
    expect(errorCode(await server.graphql(REMOVE, { orgId, userId: outsider.id }, { token: owner.token }))).toBe(
      'NOT_FOUND',
    );
  });
});

describe('custom roles', () => {
  it('cannot delete a role in use, and can once it is unassigned', async () => {
    const created = await server.graphql(
      CREATE_ROLE,
      { input: { orgId, name: 'Temp', permissions: ['org:read'] } },
      { token: owner.token },
    );
    const tempRole = created.data.createRole.id;
    const holder = await person(server, 'holder');
    await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [
      orgId,
      holder.id,
      tempRole,
    ]);
    const DELETE = 'mutation ($id: ID!) { deleteRole(id: $id) }';
    const refused = await server.graphql(DELETE, { id: tempRole }, { token: owner.token });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'role.in_use' });
    await changeRole(owner.token, holder.id, 'viewer');
    expect((await server.graphql(DELETE, { id: tempRole }, { token: owner.token })).data.deleteRole).toBe(true);
    expect(await server.sql('SELECT 1 FROM roles WHERE id = $1', [tempRole])).toHaveLength(0);
  });

  it('refuses to change or delete built-in roles, and duplicate names', async () => {
    const viewerRole = await roleId(server, orgId, 'viewer');
    const rename = await server.graphql(
      'mutation ($id: ID!) { updateRole(id: $id, input: { name: "Peeker" }) { id } }',
      { id: viewerRole },
      { token: owner.token },
    );
    expect(rename.errors?.[0].extensions?.reason).toBe('role.built_in');
    const duplicate = await server.graphql(
      CREATE_ROLE,
      { input: { orgId, name: 'ADMIN', permissions: [] } },
      { token: owner.token },
    );
    expect(duplicate.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'role.name_in_use' });
  });

  it('writes one audit record per change', async () => {
    const before = await server.sql(`SELECT count(*)::int AS n FROM audit_logs WHERE action LIKE 'role.%'`);
    const created = await server.graphql(
      CREATE_ROLE,
      { input: { orgId, name: 'Audited', permissions: ['org:read'] } },
      { token: owner.token },
    );
    await server.graphql(
      'mutation ($id: ID!) { updateRole(id: $id, input: { name: "Audited 2" }) { id } }',
      { id: created.data.createRole.id },
      { token: owner.token },
    );
    await server.graphql(
      'mutation ($id: ID!) { deleteRole(id: $id) }',
      { id: created.data.createRole.id },
      { token: owner.token },
    );
    const after = await server.sql(`SELECT count(*)::int AS n FROM audit_logs WHERE action LIKE 'role.%'`);
    expect(after[0].n - before[0].n).toBe(3);
  });
});

describe('orgs', () => {
  it('makes the creator the owner, with the four built-in roles', async () => {
    const founder = await person(server, 'founder');
    const response = await server.graphql(
      'mutation { createOrg(input: { name: "Fresh Org", slug: "fresh-org" }) { id slug viewerRole { key } roles { key builtIn permissions } } }',
      {},
      { token: founder.token },
    );
    const org = response.data.createOrg;
    expect(org.slug).toBe('fresh-org');
    expect(org.viewerRole.key).toBe('owner');
    expect(org.roles.map((role: { key: string }) => role.key).sort()).toEqual(['admin', 'editor', 'owner', 'viewer']);
    const viewerRole = org.roles.find((role: { key: string }) => role.key === 'viewer');
    expect(viewerRole.permissions.sort()).toEqual(
      ['groups:read', 'members:read', 'org:read', 'resources:read', 'roles:read', 'teams:read'].sort(),
    );
    const again = await server.graphql(
      'mutation { createOrg(input: { name: "Other", slug: "fresh-org" }) { id } }',
      {},
      { token: founder.token },
    );
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'org.slug_in_use', field: 'slug' });
    const bad = await server.graphql(
      'mutation { createOrg(input: { name: "Bad", slug: "Not A Slug" }) { id } }',
      {},
      { token: founder.token },
    );
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
  });
});

describe('updateUser', () => {
  it('lets a user rename themselves and pick a default org they belong to', async () => {
    const self = await person(server, 'selfie', { orgId, role: 'viewer' });
    const stranger = await person(server, 'stranger2');
    const otherOrg = await createOrgAs(server, stranger.token, 'Not Mine');
    const UPDATE =
      'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { firstName lastName fullName defaultOrg { id } } }';
    const ok = await server.graphql(
      UPDATE,
      { id: self.id, input: { firstName: 'Sam', lastName: 'Self', defaultOrgId: orgId } },
      { token: self.token },
    );
    expect(ok.data.updateUser).toEqual({
      firstName: 'Sam',
      lastName: 'Self',
      fullName: 'Sam Self',
      defaultOrg: { id: orgId },
    });
    const foreign = await server.graphql(
      UPDATE,
      { id: self.id, input: { defaultOrgId: otherOrg } },
      { token: self.token },
    );
    expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'defaultOrgId' });
  });

  it('lets an admin rename a lower-ranked member but not set their default org, nor rename an owner', async () => {
    const member = await person(server, 'renamed', { orgId, role: 'editor' });
    const UPDATE = 'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { firstName } }';
    expect(
      (await server.graphql(UPDATE, { id: member.id, input: { firstName: 'Renamed' } }, { token: admin.token })).data
        .updateUser.firstName,
    ).toBe('Renamed');
    expect(
      errorCode(
        await server.graphql(UPDATE, { id: member.id, input: { defaultOrgId: orgId } }, { token: admin.token }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      errorCode(await server.graphql(UPDATE, { id: owner.id, input: { firstName: 'Hacked' } }, { token: admin.token })),
    ).toBe('FORBIDDEN');
  });
});
