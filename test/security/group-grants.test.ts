import { createOrgAs, createUser, person, roleId, uniqueEmail, type Person } from '../support/fixtures';
import type { GraphQLResponse } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

// Joining a group inherits its access grants as well as its role. Putting someone into a group
// that holds grants (or taking them out, or deleting it) must never be more than granting or
// revoking directly, which needs access:grant; and an import changes a member's groups and teams
// only as addGroupMembers/addTeamMembers would.

const ADD = 'mutation ($g: ID!, $p: [ID!]!) { addGroupMembers(groupId: $g, principalIds: $p) { id } }';
const REMOVE = 'mutation ($g: ID!, $p: [ID!]!) { removeGroupMembers(groupId: $g, principalIds: $p) { id } }';
const DELETE = 'mutation ($id: ID!) { deleteGroup(id: $id) }';
const CHECK = `query ($orgId: ID!, $principalId: ID) {
  checkAccess(orgId: $orgId, resource: "secret-db", level: ADMIN, principalId: $principalId) { allowed }
}`;
const IMPORT = `mutation ($orgId: ID!, $csv: String!) {
  importUsers(orgId: $orgId, csv: $csv) { created updated invited lines { line email status error } }
}`;
const INVITE = 'mutation ($input: InviteInput!) { invite(input: $input) { id } }';
const LINK = 'mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { token } }';

let server: TestGateway;
let orgId: string;
let owner: Person;
let admin: Person;
let editor: Person;
/** Holds only org:read, members:read, members:invite and members:update (the probe's custom role). */
let inviter: Person;
/** An editor's permissions plus members:invite and members:update, but not access:grant. */
let regrouper: Person;
let grantedGroup: string;
let plainGroup: string;
let team: string;

const reasonOf = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.reason ?? null;

async function ok(query: string, variables: Record<string, unknown>, token: string) {
  const response = await server.graphql(query, variables, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

async function customRole(name: string, permissions: string[]): Promise<string> {
  const input = { orgId, name, permissions };
  return (await ok('mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }', { input }, owner.token))
    .createRole.id;
}

async function memberWithRole(name: string, role: string): Promise<Person> {
  const someone = await person(server, name, { orgId, role: 'viewer' });
  await server.sql('UPDATE memberships SET role_id = $1 WHERE org_id = $2 AND user_id = $3', [role, orgId, someone.id]);
  return someone;
}

async function groupMembers(groupId: string): Promise<string[]> {
  const rows = await server.sql('SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id', [groupId]);
  return rows.map((row) => row.user_id);
}

async function teamMembers(): Promise<string[]> {
  const rows = await server.sql('SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id', [team]);
  return rows.map((row) => row.user_id);
}

/** Whether the person may use secret-db at ADMIN, as the owner's checkAccess answers it. */
async function hasAdminOnSecretDb(userId: string): Promise<boolean> {
  return (await ok(CHECK, { orgId, principalId: userId }, owner.token)).checkAccess.allowed;
}

async function importLines(token: string, csv: string) {
  return (await ok(IMPORT, { orgId, csv }, token)).importUsers;
}

async function invitationCount(): Promise<number> {
  const [{ count }] = await server.sql('SELECT count(*)::int AS count FROM invitations WHERE org_id = $1', [orgId]);
  return count;
}

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'grants-owner');
  orgId = await createOrgAs(server, owner.token, 'Group Grants Inc');
  [admin, editor] = await Promise.all([
    person(server, 'grants-admin', { orgId, role: 'admin' }),
    person(server, 'grants-editor', { orgId, role: 'editor' }),
  ]);
  const inviting = ['members:invite', 'members:update'];
  inviter = await memberWithRole(
    'grants-inviter',
    await customRole('Inviter', ['org:read', 'members:read', ...inviting]),
  );
  const editing = ['org:read', 'members:read', 'teams:read', 'groups:read', 'roles:read', 'resources:read'];
  regrouper = await memberWithRole(
    'grants-regrouper',
    await customRole('Regrouper', [...editing, 'teams:write', 'groups:write', 'resources:write', ...inviting]),
  );

  const createGroup = 'mutation ($input: CreateGroupInput!) { createGroup(input: $input) { id } }';
  grantedGroup = (await ok(createGroup, { input: { orgId, name: 'payroll-admins' } }, owner.token)).createGroup.id;
  plainGroup = (await ok(createGroup, { input: { orgId, name: 'book-club' } }, owner.token)).createGroup.id;
  const createTeam = 'mutation ($input: CreateTeamInput!) { createTeam(input: $input) { id } }';
  team = (await ok(createTeam, { input: { orgId, name: 'Execs' } }, owner.token)).createTeam.id;
  const createResource = 'mutation ($input: CreateResourceInput!) { createResource(input: $input) { id } }';
  const resourceId = (await ok(createResource, { input: { orgId, name: 'secret-db' } }, owner.token)).createResource.id;
  await ok(
    'mutation ($r: ID!, $p: ID!) { grantAccess(resourceId: $r, principalId: $p, level: ADMIN) { id } }',
    { r: resourceId, p: grantedGroup },
    owner.token,
  );
});

afterAll(async () => {
  await server.close();
});

describe('changing who is in a group that holds grants', () => {
  it('refuses an editor adding themselves (groups:write without access:grant): no row, no access', async () => {
    const response = await server.graphql(ADD, { g: grantedGroup, p: [editor.id] }, { token: editor.token });
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(reasonOf(response)).toBe('group.holds_grants');
    expect(await groupMembers(grantedGroup)).toEqual([]);
    const own = await ok(CHECK, { orgId }, editor.token);
    expect(own.checkAccess.allowed).toBe(false);
  });

  it('still lets an editor change the members of a group without grants', async () => {
    await ok(ADD, { g: plainGroup, p: [editor.id] }, editor.token);
    expect(await groupMembers(plainGroup)).toEqual([editor.id]);
    await ok(REMOVE, { g: plainGroup, p: [editor.id] }, editor.token);
    expect(await groupMembers(plainGroup)).toEqual([]);
  });

  it('lets a holder of access:grant add someone, who then reaches the resource through the group', async () => {
    const member = await person(server, 'grants-member', { orgId, role: 'viewer' });
    expect(await hasAdminOnSecretDb(member.id)).toBe(false);
    await ok(ADD, { g: grantedGroup, p: [member.id] }, admin.token);
    expect(await groupMembers(grantedGroup)).toEqual([member.id]);
    expect(await hasAdminOnSecretDb(member.id)).toBe(true);

    // Taking them out or deleting the group revokes the grant for them: access:grant, like revokeAccess.
    const removal = await server.graphql(REMOVE, { g: grantedGroup, p: [member.id] }, { token: editor.token });
    expect(reasonOf(removal)).toBe('group.holds_grants');
    expect(reasonOf(await server.graphql(DELETE, { id: grantedGroup }, { token: editor.token }))).toBe(
      'group.holds_grants',
    );
    expect(await groupMembers(grantedGroup)).toEqual([member.id]);
    expect(await hasAdminOnSecretDb(member.id)).toBe(true);

    await ok(REMOVE, { g: grantedGroup, p: [member.id] }, admin.token);
    expect(await groupMembers(grantedGroup)).toEqual([]);
    expect(await hasAdminOnSecretDb(member.id)).toBe(false);
  });
});

describe('inviting into a group that holds grants', () => {
  it('refuses invite and createInviteLink without access:grant, creating no invitation', async () => {
    const before = await invitationCount();
    const viewerRole = await roleId(server, orgId, 'viewer');
    const invite = await server.graphql(
      INVITE,
      { input: { orgId, email: uniqueEmail('grants-invitee'), roleId: viewerRole, groupIds: [grantedGroup] } },
      { token: regrouper.token },
    );
    expect(reasonOf(invite)).toBe('group.holds_grants');
    const link = await server.graphql(
      LINK,
      { input: { orgId, roleId: viewerRole, groupIds: [grantedGroup] } },
      { token: regrouper.token },
    );
    expect(reasonOf(link)).toBe('group.holds_grants');
    expect(await invitationCount()).toBe(before);
  });

  it('lets a holder of access:grant create a link into it, and anyone with members:invite one into a plain group', async () => {
    const viewerRole = await roleId(server, orgId, 'viewer');
    await ok(LINK, { input: { orgId, roleId: viewerRole, groupIds: [grantedGroup] } }, admin.token);
    await ok(LINK, { input: { orgId, roleId: viewerRole, groupIds: [plainGroup] } }, regrouper.token);
  });
});

describe('importing groups and teams', () => {
  it("refuses the probe's import of the caller into a granted group and a team: nothing changes", async () => {
    const result = await importLines(inviter.token, `email,groups,teams\n${inviter.email},payroll-admins,Execs`);
    expect(result.updated).toBe(0);
    expect(result.lines).toEqual([
      { line: 2, email: inviter.email, status: 'FAILED', error: "Changing a member's groups needs groups:write" },
    ]);
    expect(await groupMembers(grantedGroup)).toEqual([]);
    expect(await teamMembers()).toEqual([]);
    expect(await hasAdminOnSecretDb(inviter.id)).toBe(false);
  });

  it("refuses changing one's own teams without teams:write, and groups without groups:write", async () => {
    const teams = await importLines(inviter.token, `email,teams\n${inviter.email},Execs`);
    expect(teams.lines[0].error).toBe("Changing a member's teams needs teams:write");
    const groups = await importLines(inviter.token, `email,groups\n${inviter.email},book-club`);
    expect(groups.lines[0].error).toBe("Changing a member's groups needs groups:write");
    expect(await teamMembers()).toEqual([]);
    expect(await groupMembers(plainGroup)).toEqual([]);
  });

  it('refuses joining a granted group without access:grant, even with groups:write, for members and new accounts', async () => {
    const newEmail = uniqueEmail('grants-new');
    const existingEmail = uniqueEmail('grants-existing');
    await createUser(server, existingEmail);
    const result = await importLines(
      regrouper.token,
      `email,groups\n${regrouper.email},payroll-admins\n${newEmail},payroll-admins\n${existingEmail},payroll-admins`,
    );
    expect(result.lines.map((line: { status: string }) => line.status)).toEqual(['FAILED', 'FAILED', 'FAILED']);
    for (const line of result.lines) expect(line.error).toMatch(/"payroll-admins" holds access grants/);
    expect(await groupMembers(grantedGroup)).toEqual([]);
    expect(await server.sql('SELECT 1 FROM users WHERE lower(email) = lower($1)', [newEmail])).toEqual([]);
    const [{ count }] = await server.sql(
      'SELECT count(*)::int AS count FROM invitations WHERE org_id = $1 AND lower(email) = lower($2)',
      [orgId, existingEmail],
    );
    expect(count).toBe(0);
    expect(await hasAdminOnSecretDb(regrouper.id)).toBe(false);
  });

  it('keeps groups and teams of a new account part of members:invite when no group holds grants', async () => {
    const newEmail = uniqueEmail('grants-newcomer');
    const result = await importLines(inviter.token, `email,role,groups,teams\n${newEmail},Inviter,book-club,Execs`);
    expect(result.created).toBe(1);
    const [account] = await server.sql('SELECT id FROM users WHERE lower(email) = lower($1)', [newEmail]);
    expect(await groupMembers(plainGroup)).toEqual([account.id]);
    expect(await teamMembers()).toEqual([account.id]);
  });

  it('lets an admin (groups:write, teams:write, access:grant) change groups and teams, granted group included', async () => {
    const member = await person(server, 'grants-imported', { orgId, role: 'viewer' });
    const joined = await importLines(admin.token, `email,groups,teams\n${member.email},payroll-admins;book-club,Execs`);
    expect(joined.lines[0].status).toBe('UPDATED');
    expect(await groupMembers(grantedGroup)).toEqual([member.id]);
    expect(await groupMembers(plainGroup)).toContain(member.id);
    expect(await teamMembers()).toContain(member.id);
    expect(await hasAdminOnSecretDb(member.id)).toBe(true);

    const left = await importLines(regrouper.token, `email,groups\n${member.email},book-club`);
    expect(left.lines[0].error).toMatch(/"payroll-admins" holds access grants/);
    expect(await groupMembers(grantedGroup)).toEqual([member.id]);

    expect((await importLines(admin.token, `email,groups\n${member.email},book-club`)).lines[0].status).toBe('UPDATED');
    expect(await groupMembers(grantedGroup)).toEqual([]);
    expect(await hasAdminOnSecretDb(member.id)).toBe(false);
  });
});
