import { addMember, createOrgAs, createUser, person, roleId, type Person } from '../support/fixtures';
import { errorCode, type GraphQLResponse, withNodes } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * Groups over real HTTP: CRUD and membership with their database effects and audit records, no
 * escalation through a group's role, role inheritance applied from the very next request, and who
 * may do what (../shared/design/permissions.md).
 */

let server: TestGateway;
let orgId: string;
let otherOrgId: string;
let owner: Person;
let admin: Person;
let editor: Person;
let viewer: Person;
let otherOwner: Person;

const GROUP_FIELDS = 'id name role { key } org { id } members { edges { node { id email kind } } }';
const CREATE = `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { ${GROUP_FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateGroupInput!) { updateGroup(id: $id, input: $input) { ${GROUP_FIELDS} } }`;
const DELETE = 'mutation ($id: ID!) { deleteGroup(id: $id) }';
const ADD = `mutation ($groupId: ID!, $principalIds: [ID!]!) {
  addGroupMembers(groupId: $groupId, principalIds: $principalIds) { ${GROUP_FIELDS} }
}`;
const REMOVE = `mutation ($groupId: ID!, $principalIds: [ID!]!) {
  removeGroupMembers(groupId: $groupId, principalIds: $principalIds) { ${GROUP_FIELDS} }
}`;
const CREATE_ROLE = 'mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }';
const DEACTIVATE = 'mutation ($orgId: ID!, $userId: ID!) { deactivate(orgId: $orgId, userId: $userId) { status } }';
const ACTIVATE = 'mutation ($orgId: ID!, $userId: ID!) { activate(orgId: $orgId, userId: $userId) { status } }';

const reasonOf = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.reason;

/** Runs a request that must succeed and returns its data. */
async function ok(query: string, variables: Record<string, unknown>, token: string) {
  const response = await server.graphql(query, variables, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

async function createGroup(token: string, name: string, roleKey?: string, org = orgId): Promise<string> {
  const input = { orgId: org, name, roleId: roleKey ? await roleId(server, org, roleKey) : undefined };
  return (await ok(CREATE, { input }, token)).createGroup.id;
}

const addMembers = (token: string, groupId: string, principalIds: string[]) =>
  server.graphql(ADD, { groupId, principalIds }, { token });

async function memberIds(groupId: string): Promise<string[]> {
  const rows = await server.sql('SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id', [groupId]);
  return rows.map((row) => row.user_id);
}

/** The key of the group's role in the database, null without one. */
async function roleKeyOf(groupId: string): Promise<string | null> {
  const [row] = await server.sql('SELECT r.key FROM groups g LEFT JOIN roles r ON r.id = g.role_id WHERE g.id = $1', [
    groupId,
  ]);
  return row?.key ?? null;
}

async function audits(groupId: string): Promise<Array<{ action: string; changes: any; actor_id: string }>> {
  return server.sql(
    `SELECT action, changes, actor_id FROM audit_logs WHERE target_type = 'Group' AND target_id = $1 ORDER BY created_at, id`,
    [groupId],
  );
}

let roleCount = 0;

/** A request that needs roles:write: a custom role with one harmless permission. */
const tryCreateRole = (token: string) =>
  server.graphql(CREATE_ROLE, { input: { orgId, name: `Probe ${++roleCount}`, permissions: ['org:read'] } }, { token });

/** A SERVICE_ACCOUNT principal (no email, no password) that is a member of the org. */
async function serviceAccount(name: string, roleKey = 'viewer'): Promise<string> {
  const [row] = await server.sql(`INSERT INTO users (kind, first_name) VALUES ('SERVICE_ACCOUNT', $1) RETURNING id`, [
    name,
  ]);
  await addMember(server, orgId, row.id, roleKey);
  return row.id;
}

beforeAll(async () => {
  // Reading an org's teams or groups with their members nests two plain lists, each counted as a
  // full page (100 × 100): over the default cost limit, which test/http/query-limits.test.ts covers.
  server = await startTestGateway({ MAX_QUERY_COST: '50000' });
  [owner, otherOwner] = await Promise.all([person(server, 'gowner'), person(server, 'gother')]);
  [orgId, otherOrgId] = await Promise.all([
    createOrgAs(server, owner.token, 'Groups Inc'),
    createOrgAs(server, otherOwner.token, 'Elsewhere'),
  ]);
  [admin, editor, viewer] = await Promise.all([
    person(server, 'gadmin', { orgId, role: 'admin' }),
    person(server, 'geditor', { orgId, role: 'editor' }),
    person(server, 'gviewer', { orgId, role: 'viewer' }),
  ]);
});

afterAll(async () => {
  await server.close();
});

describe('group CRUD', () => {
  it('creates, renames, changes and clears the role of, and deletes a group, auditing each change once', async () => {
    const created = (
      await ok(
        CREATE,
        { input: { orgId, name: '  Support  ', roleId: await roleId(server, orgId, 'viewer') } },
        editor.token,
      )
    ).createGroup;
    expect(withNodes(created)).toMatchObject({
      name: 'Support',
      role: { key: 'viewer' },
      org: { id: orgId },
      members: [],
    });
    const id = created.id;
    const [row] = await server.sql('SELECT org_id, name, role_id FROM groups WHERE id = $1', [id]);
    expect(row).toEqual({ org_id: orgId, name: 'Support', role_id: await roleId(server, orgId, 'viewer') });

    const renamed = await ok(UPDATE, { id, input: { name: 'Helpdesk' } }, editor.token);
    expect(renamed.updateGroup).toMatchObject({ name: 'Helpdesk', role: { key: 'viewer' } });
    const promoted = await ok(UPDATE, { id, input: { roleId: await roleId(server, orgId, 'editor') } }, editor.token);
    expect(promoted.updateGroup).toMatchObject({ name: 'Helpdesk', role: { key: 'editor' } });
    const cleared = await ok(UPDATE, { id, input: { roleId: null } }, editor.token);
    expect(cleared.updateGroup.role).toBeNull();
    expect(await roleKeyOf(id)).toBeNull();
    // The same values again change nothing, and are not audited.
    await ok(UPDATE, { id, input: { name: 'Helpdesk', roleId: null } }, editor.token);

    await ok(ADD, { groupId: id, principalIds: [viewer.id] }, editor.token);
    expect((await ok(DELETE, { id }, editor.token)).deleteGroup).toBe(true);
    expect(await server.sql('SELECT 1 FROM groups WHERE id = $1', [id])).toHaveLength(0);
    expect(await memberIds(id)).toEqual([]);

    const records = await audits(id);
    expect(records.map((record) => record.action)).toEqual([
      'group.created',
      'group.updated',
      'group.updated',
      'group.updated',
      'group.members_added',
      'group.deleted',
    ]);
    expect(records.every((record) => record.actor_id === editor.id)).toBe(true);
    expect(records[0].changes).toEqual({ after: { name: 'Support', role: 'viewer' } });
    expect(records[3].changes).toEqual({
      before: { name: 'Helpdesk', role: 'editor' },
      after: { name: 'Helpdesk', role: null },
    });
    expect(records[5].changes).toEqual({ before: { name: 'Helpdesk', role: null, memberCount: 1 } });
  });

  it('refuses a duplicate name in the org, whatever its case, but not in another org', async () => {
    await createGroup(owner.token, 'Finance');
    const duplicate = await server.graphql(CREATE, { input: { orgId, name: 'FINANCE' } }, { token: owner.token });
    expect(duplicate.errors?.[0].extensions).toMatchObject({
      code: 'CONFLICT',
      reason: 'group.name_in_use',
      field: 'name',
    });
    const renamed = await server.graphql(
      UPDATE,
      { id: await createGroup(owner.token, 'Legal'), input: { name: 'finance' } },
      { token: owner.token },
    );
    expect(reasonOf(renamed)).toBe('group.name_in_use');
    expect(await server.sql(`SELECT name FROM groups WHERE org_id = $1 AND lower(name) = 'finance'`, [orgId])).toEqual([
      { name: 'Finance' },
    ]);
    await createGroup(otherOwner.token, 'Finance', undefined, otherOrgId);
  });

  it("refuses a blank name and another org's role, creating nothing", async () => {
    const blank = await server.graphql(CREATE, { input: { orgId, name: '   ' } }, { token: owner.token });
    expect(errorCode(blank)).toBe('BAD_USER_INPUT');
    const foreignRole = await server.graphql(
      CREATE,
      { input: { orgId, name: 'Foreign', roleId: await roleId(server, otherOrgId, 'viewer') } },
      { token: owner.token },
    );
    expect(foreignRole.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'roleId' });
    expect(await server.sql(`SELECT 1 FROM groups WHERE name IN ('', 'Foreign')`)).toHaveLength(0);
  });
});

describe('group members', () => {
  it('holds humans, service accounts and customers, by email, and removes them idempotently', async () => {
    const groupId = await createGroup(owner.token, 'Mixed');
    const robot = await serviceAccount('Robot');
    const customerEmail = `a-customer.${Date.now()}@example.com`;
    const customer = await createUser(server, customerEmail, { kind: 'CUSTOMER' });
    await server.sql(`UPDATE users SET customer_id = 'cust-1' WHERE id = $1`, [customer]);
    await addMember(server, orgId, customer, 'viewer');

    const added = (await ok(ADD, { groupId, principalIds: [viewer.id, robot, customer, viewer.id] }, owner.token))
      .addGroupMembers;
    expect(withNodes(added.members)).toEqual([
      { id: customer, email: customerEmail, kind: 'CUSTOMER' },
      { id: viewer.id, email: viewer.email, kind: 'HUMAN' },
      { id: robot, email: null, kind: 'SERVICE_ACCOUNT' },
    ]);
    expect(await memberIds(groupId)).toEqual([viewer.id, robot, customer].sort());
    // Already members: nothing changes, nothing is audited.
    await ok(ADD, { groupId, principalIds: [robot] }, owner.token);

    const removed = await ok(REMOVE, { groupId, principalIds: [robot, admin.id] }, owner.token);
    expect(withNodes(removed.removeGroupMembers.members).map((member: { id: string }) => member.id)).toEqual([
      customer,
      viewer.id,
    ]);
    await ok(REMOVE, { groupId, principalIds: [robot] }, owner.token);
    expect(await memberIds(groupId)).toEqual([viewer.id, customer].sort());

    const records = await audits(groupId);
    expect(records.map((record) => record.action)).toEqual([
      'group.created',
      'group.members_added',
      'group.members_removed',
    ]);
    expect(records[1].changes).toEqual({ after: { principalIds: [viewer.id, robot, customer].sort() } });
    expect(records[2].changes).toEqual({ before: { principalIds: [robot] } });
  });

  it('refuses anyone outside the org, naming them, and adds nobody', async () => {
    const groupId = await createGroup(owner.token, 'Closed');
    for (const stranger of [otherOwner.id, '00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const response = await addMembers(owner.token, groupId, [viewer.id, stranger]);
      expect(response.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'group.member_not_in_org',
        field: 'principalIds',
      });
      expect(response.errors?.[0].message).toContain(stranger);
    }
    expect(await memberIds(groupId)).toEqual([]);
    expect((await audits(groupId)).map((record) => record.action)).toEqual(['group.created']);
  });

  it('shows through Org.groups, User.groups, node(id) and the users filter', async () => {
    const org = await createOrgAs(server, owner.token, 'Listing Org');
    const [alpha, beta] = await Promise.all([
      person(server, 'alpha', { orgId: org, role: 'viewer' }),
      person(server, 'beta', { orgId: org, role: 'viewer' }),
    ]);
    await person(server, 'gamma', { orgId: org, role: 'viewer' });
    const zulu = await createGroup(owner.token, 'Zulu', 'viewer', org);
    const alphaGroup = await createGroup(owner.token, 'Alpha team', undefined, org);
    await ok(ADD, { groupId: zulu, principalIds: [alpha.id, beta.id] }, owner.token);
    await ok(ADD, { groupId: alphaGroup, principalIds: [alpha.id] }, owner.token);

    const listed = await ok(
      `query ($org: ID!, $user: ID!) {
        org(id: $org) { groups { edges { node { name role { key } members { edges { node { email } } } } } } }
        user(id: $user) { groups(orgId: $org) { name } }
      }`,
      { org, user: alpha.id },
      beta.token,
    );
    expect(withNodes(listed.org.groups)).toEqual([
      { name: 'Alpha team', role: null, members: [{ email: alpha.email }] },
      { name: 'Zulu', role: { key: 'viewer' }, members: [alpha.email, beta.email].sort().map((email) => ({ email })) },
    ]);
    expect(listed.user.groups).toEqual([{ name: 'Alpha team' }, { name: 'Zulu' }]);

    const NODE = 'query ($id: ID!) { node(id: $id) { id ... on Group { name } } }';
    expect((await ok(NODE, { id: zulu }, beta.token)).node).toEqual({ id: zulu, name: 'Zulu' });
    expect(reasonOf(await server.graphql(NODE, { id: zulu }, { token: otherOwner.token }))).toBe('node.not_found');

    const USERS = `query ($org: ID!, $groupId: ID!) {
      users(orgId: $org, filter: { groupId: $groupId }) { totalCount edges { node { email } } }
    }`;
    const filtered = await ok(USERS, { org, groupId: zulu }, beta.token);
    expect(filtered.users.totalCount).toBe(2);
    expect(filtered.users.edges.map((edge: any) => edge.node.email)).toEqual([alpha.email, beta.email].sort());
    expect((await ok(USERS, { org, groupId: alphaGroup }, beta.token)).users.totalCount).toBe(1);
  });
});

describe('no escalation through groups', () => {
  it('nobody offers, through a group, a role holding permissions they lack', async () => {
    const created = await server.graphql(
      CREATE,
      { input: { orgId, name: 'Shadow owners', roleId: await roleId(server, orgId, 'owner') } },
      { token: admin.token },
    );
    expect(created.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'role.escalation' });
    expect(await server.sql(`SELECT 1 FROM groups WHERE name = 'Shadow owners'`)).toHaveLength(0);

    const groupId = await createGroup(admin.token, 'Admins', 'admin');
    const promoted = await server.graphql(
      UPDATE,
      { id: groupId, input: { roleId: await roleId(server, orgId, 'owner') } },
      { token: admin.token },
    );
    expect(reasonOf(promoted)).toBe('role.escalation');
    const editorsAdmins = await server.graphql(
      CREATE,
      { input: { orgId, name: 'Editors admins', roleId: await roleId(server, orgId, 'admin') } },
      { token: editor.token },
    );
    expect(reasonOf(editorsAdmins)).toBe('role.escalation');
    expect(await roleKeyOf(groupId)).toBe('admin');
  });

  it('nobody changes who inherits a role holding permissions they lack', async () => {
    const groupId = await createGroup(owner.token, 'Owners', 'owner');
    const target = await person(server, 'hopeful', { orgId, role: 'viewer' });
    const added = await addMembers(admin.token, groupId, [target.id]);
    expect(added.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'role.escalation' });
    expect(await memberIds(groupId)).toEqual([]);

    await ok(ADD, { groupId, principalIds: [target.id] }, owner.token);
    const refusals = await Promise.all([
      server.graphql(REMOVE, { groupId, principalIds: [target.id] }, { token: admin.token }),
      server.graphql(UPDATE, { id: groupId, input: { roleId: null } }, { token: admin.token }),
      server.graphql(DELETE, { id: groupId }, { token: admin.token }),
    ]);
    expect(refusals.map(reasonOf)).toEqual(['role.escalation', 'role.escalation', 'role.escalation']);
    expect(await memberIds(groupId)).toEqual([target.id]);
    expect(await roleKeyOf(groupId)).toBe('owner');
    // Renaming changes nobody's permissions.
    expect((await ok(UPDATE, { id: groupId, input: { name: 'Founders' } }, admin.token)).updateGroup.name).toBe(
      'Founders',
    );
  });
});

describe('role inheritance', () => {
  it('applies from the very next request, and ends when the member leaves or the role is cleared', async () => {
    const member = await person(server, 'inheritor', { orgId, role: 'viewer' });
    const groupId = await createGroup(owner.token, 'Acting admins', 'admin');
    expect(errorCode(await tryCreateRole(member.token))).toBe('FORBIDDEN');

    await ok(ADD, { groupId, principalIds: [member.id] }, owner.token);
    expect((await tryCreateRole(member.token)).errors).toBeUndefined();

    await ok(REMOVE, { groupId, principalIds: [member.id] }, owner.token);
    expect(errorCode(await tryCreateRole(member.token))).toBe('FORBIDDEN');

    await ok(ADD, { groupId, principalIds: [member.id] }, owner.token);
    expect((await tryCreateRole(member.token)).errors).toBeUndefined();
    await ok(UPDATE, { id: groupId, input: { roleId: null } }, owner.token);
    expect(errorCode(await tryCreateRole(member.token))).toBe('FORBIDDEN');
  });

  it('gives a deactivated member nothing, and comes back with the membership', async () => {
    const member = await person(server, 'dormant', { orgId, role: 'viewer' });
    const groupId = await createGroup(owner.token, 'Dormant admins', 'admin');
    await ok(ADD, { groupId, principalIds: [member.id] }, owner.token);
    await ok(DEACTIVATE, { orgId, userId: member.id }, owner.token);
    expect(errorCode(await tryCreateRole(member.token))).toBe('NOT_FOUND');
    await ok(ACTIVATE, { orgId, userId: member.id }, owner.token);
    expect((await tryCreateRole(member.token)).errors).toBeUndefined();
  });

  it('counts for rank rules, for the member and for those acting on them', async () => {
    const member = await person(server, 'ranked', { orgId, role: 'viewer' });
    const someEditor = await person(server, 'someeditor', { orgId, role: 'editor' });
    const groupId = await createGroup(owner.token, 'Ranked admins', 'admin');
    await ok(ADD, { groupId, principalIds: [member.id] }, owner.token);

    // An admin only acts on members of lower rank: the viewer now ranks as an admin.
    const byAdmin = await server.graphql(DEACTIVATE, { orgId, userId: member.id }, { token: admin.token });
    expect(byAdmin.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'member.outranked' });
    const lock = await server.graphql(
      'mutation ($userId: ID!) { lock(userId: $userId, reason: "test") { id } }',
      { userId: member.id },
      { token: admin.token },
    );
    expect(reasonOf(lock)).toBe('member.outranked');
    // ...and acts as an admin on an editor.
    expect((await ok(DEACTIVATE, { orgId, userId: someEditor.id }, member.token)).deactivate.status).toBe(
      'DEACTIVATED',
    );
  });

  it("still caps an API key's requests at its scopes", async () => {
    const robot = await serviceAccount('Scoped robot');
    const groupId = await createGroup(owner.token, 'Robot admins', 'admin');
    await ok(ADD, { groupId, principalIds: [robot] }, owner.token);
    const issued = await ok(
      'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
      { input: { ownerId: robot, name: 'reader', scopes: ['members:read', 'org:read'] } },
      owner.token,
    );
    const token = issued.createKey.token;
    expect(
      (await ok('query ($orgId: ID!) { users(orgId: $orgId) { totalCount } }', { orgId }, token)).users.totalCount,
    ).toBeGreaterThan(0);
    expect(errorCode(await tryCreateRole(token))).toBe('FORBIDDEN');
  });
});

describe('who may do what', () => {
  let groupId: string;

  beforeAll(async () => {
    groupId = await createGroup(owner.token, 'Guarded');
  });

  const operations = (id: string): Array<[string, Record<string, unknown>]> => [
    [UPDATE, { id, input: { name: 'Renamed by intruder' } }],
    [ADD, { groupId: id, principalIds: [viewer.id] }],
    [REMOVE, { groupId: id, principalIds: [viewer.id] }],
    [DELETE, { id }],
  ];

  it('lets an editor write groups', async () => {
    const id = await createGroup(editor.token, 'Editors own');
    for (const [query, variables] of operations(id)) {
      expect((await server.graphql(query, variables, { token: editor.token })).errors).toBeUndefined();
    }
  });

  it('refuses a viewer (FORBIDDEN), another org (NOT_FOUND) and the anonymous (UNAUTHENTICATED), changing nothing', async () => {
    const create = (token?: string) => server.graphql(CREATE, { input: { orgId, name: 'Intruders' } }, { token });
    expect(errorCode(await create(viewer.token))).toBe('FORBIDDEN');
    expect(reasonOf(await create(otherOwner.token))).toBe('org.not_found');
    expect(errorCode(await create())).toBe('UNAUTHENTICATED');
    for (const [query, variables] of operations(groupId)) {
      expect(errorCode(await server.graphql(query, variables, { token: viewer.token }))).toBe('FORBIDDEN');
      expect(reasonOf(await server.graphql(query, variables, { token: otherOwner.token }))).toBe('group.not_found');
      expect(errorCode(await server.graphql(query, variables))).toBe('UNAUTHENTICATED');
    }
    expect(await server.sql('SELECT name FROM groups WHERE id = $1', [groupId])).toEqual([{ name: 'Guarded' }]);
    expect(await memberIds(groupId)).toEqual([]);
    expect(await server.sql(`SELECT 1 FROM groups WHERE name = 'Intruders'`)).toHaveLength(0);
  });

  it("lets members read the org's groups, but not another org", async () => {
    const GROUPS = 'query ($orgId: ID!) { org(id: $orgId) { groups(first: 100) { edges { node { id } } } } }';
    expect(withNodes((await ok(GROUPS, { orgId }, viewer.token)).org.groups).map((group: any) => group.id)).toContain(
      groupId,
    );
    expect(errorCode(await server.graphql(GROUPS, { orgId }, { token: otherOwner.token }))).toBe('NOT_FOUND');
    const userGroups = await server.graphql(
      'query ($id: ID!, $orgId: ID!) { user(id: $id) { groups(orgId: $orgId) { id } } }',
      { id: viewer.id, orgId },
      { token: otherOwner.token },
    );
    expect(errorCode(userGroups)).toBe('NOT_FOUND');
  });
});

describe('no N+1', () => {
  const GROUPS =
    'query ($orgId: ID!) { org(id: $orgId) { groups { edges { node { role { key } members { edges { node { email } } } } } } } }';

  async function statementsFor(groupCount: number): Promise<number> {
    const founder = await person(server, `founder${groupCount}`);
    const org = await createOrgAs(server, founder.token, `Batch ${groupCount}`);
    const people = await Promise.all(
      [0, 1, 2].map((n) => person(server, `batch${groupCount}x${n}`, { orgId: org, role: 'viewer' })),
    );
    for (let n = 0; n < groupCount; n++) {
      const id = await createGroup(founder.token, `Group ${n}`, n % 2 === 0 ? 'editor' : 'viewer', org);
      await ok(ADD, { groupId: id, principalIds: people.slice(n % 3).map((p) => p.id) }, founder.token);
    }
    const statements = server.gateway.database.statements;
    const before = statements.total;
    const groups = withNodes((await ok(GROUPS, { orgId: org }, founder.token)).org.groups);
    expect(groups).toHaveLength(groupCount);
    return statements.total - before;
  }

  it('issues the same number of SQL statements for 2 groups as for 10', async () => {
    const small = await statementsFor(2);
    const large = await statementsFor(10);
    expect(large).toBe(small);
    expect(large).toBeLessThanOrEqual(12);
  });
});
