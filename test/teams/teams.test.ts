import { addMember, createOrgAs, createUser, person, type Person } from '../support/fixtures';
import { errorCode, withNodes, type GraphQLResponse } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let orgId: string;
let owner: Person;
let editor: Person;
let viewer: Person;
let alice: Person;
let bob: Person;
let carol: Person;
/** Owner of another org, and a member of that org only. */
let stranger: Person;
let oscar: Person;

const TEAM_FIELDS = 'id name slug createdAt org { id } members(first: 100) { edges { node { id email } } }';
const CREATE = `mutation ($input: CreateTeamInput!) { createTeam(input: $input) { ${TEAM_FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $name: String) { updateTeam(id: $id, input: { name: $name }) { ${TEAM_FIELDS} } }`;
const DELETE = 'mutation ($id: ID!) { deleteTeam(id: $id) }';
const ADD = `mutation ($teamId: ID!, $userIds: [ID!]!) {
  addTeamMembers(teamId: $teamId, userIds: $userIds) { ${TEAM_FIELDS} }
}`;
const REMOVE = `mutation ($teamId: ID!, $userIds: [ID!]!) {
  removeTeamMembers(teamId: $teamId, userIds: $userIds) { ${TEAM_FIELDS} }
}`;

type Team = {
  id: string;
  name: string;
  slug: string;
  createdAt: string;
  members: Array<{ id: string; email: string }>;
};

function dataOf<T>(response: GraphQLResponse, field: string): T {
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return withNodes(response.data[field]);
}

async function createTeam(name: string, token = editor.token, org = orgId): Promise<Team> {
  return dataOf(await server.graphql(CREATE, { input: { orgId: org, name } }, { token }), 'createTeam');
}

const addMembers = (teamId: string, userIds: string[], token = editor.token) =>
  server.graphql(ADD, { teamId, userIds }, { token });

const updateTeam = (id: string, name: string, token = editor.token) => server.graphql(UPDATE, { id, name }, { token });

const removeMembers = (teamId: string, userIds: string[], token = editor.token) =>
  server.graphql(REMOVE, { teamId, userIds }, { token });

async function auditsOf(teamId: string): Promise<Array<{ action: string; actor_id: string; changes: any }>> {
  return server.sql('SELECT action, actor_id, org_id, changes FROM audit_logs WHERE target_id = $1 ORDER BY seq', [
    teamId,
  ]);
}

async function memberIdsInDb(teamId: string): Promise<string[]> {
  const rows = await server.sql('SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id', [teamId]);
  return rows.map((row) => row.user_id);
}

const sorted = (ids: string[]) => [...ids].sort();

beforeAll(async () => {
  // Reading an org's teams or groups with their members nests two plain lists, each counted as a
  // full page (100 × 100): over the default cost limit, which test/http/query-limits.test.ts covers.
  server = await startTestGateway({ MAX_QUERY_COST: '50000' });
  owner = await person(server, 'olivia');
  orgId = await createOrgAs(server, owner.token, 'Teams Inc');
  editor = await person(server, 'edith', { orgId, role: 'editor' });
  viewer = await person(server, 'victor', { orgId, role: 'viewer' });
  alice = await person(server, 'alice', { orgId, role: 'viewer' });
  bob = await person(server, 'bob', { orgId, role: 'viewer' });
  carol = await person(server, 'carol', { orgId, role: 'viewer' });
  stranger = await person(server, 'stranger');
  const otherOrgId = await createOrgAs(server, stranger.token, 'Elsewhere');
  oscar = await person(server, 'oscar', { orgId: otherOrgId, role: 'viewer' });
});

afterAll(async () => {
  await server.close();
});

describe('creating, renaming and deleting teams', () => {
  it('creates a team with a slug derived from its name, audited once', async () => {
    const team = await createTeam('  Platform Engineering ✨ ');
    expect(team).toMatchObject({
      name: 'Platform Engineering ✨',
      slug: 'platform-engineering',
      org: { id: orgId },
      members: [],
    });
    expect(new Date(team.createdAt).getTime()).not.toBeNaN();

    const [row] = await server.sql('SELECT org_id, name, slug FROM teams WHERE id = $1', [team.id]);
    expect(row).toEqual({ org_id: orgId, name: 'Platform Engineering ✨', slug: 'platform-engineering' });
    expect(await auditsOf(team.id)).toEqual([
      {
        action: 'team.created',
        actor_id: editor.id,
        org_id: orgId,
        changes: { after: { name: 'Platform Engineering ✨', slug: 'platform-engineering' } },
      },
    ]);
  });

  it('suffixes a slug taken by a differently named team, and refuses a name in use', async () => {
    expect((await createTeam('Back end')).slug).toBe('back-end');
    expect((await createTeam('Back-End!')).slug).toBe('back-end-2');
    expect((await createTeam('back end?')).slug).toBe('back-end-3');

    const duplicate = await server.graphql(CREATE, { input: { orgId, name: 'BACK END' } }, { token: editor.token });
    expect(duplicate.errors?.[0].extensions).toMatchObject({
      code: 'CONFLICT',
      reason: 'team.name_in_use',
      field: 'name',
    });
    const rows = await server.sql(`SELECT slug FROM teams WHERE org_id = $1 AND slug LIKE 'back-end%' ORDER BY slug`, [
      orgId,
    ]);
    expect(rows.map((row) => row.slug)).toEqual(['back-end', 'back-end-2', 'back-end-3']);
  });

  it('takes the same name in another org, where slugs are counted apart', async () => {
    const elsewhere = await createOrgAs(server, owner.token, 'Second Org');
    expect((await createTeam('Back end', owner.token, elsewhere)).slug).toBe('back-end');
  });

  it('refuses a blank name as bad input', async () => {
    const response = await server.graphql(CREATE, { input: { orgId, name: '   ' } }, { token: editor.token });
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
  });

  it('renames a team with a new slug, keeping the slug when only the case changes', async () => {
    const team = await createTeam('Design');
    const renamed = dataOf<Team>(await updateTeam(team.id, 'Product Design'), 'updateTeam');
    expect(renamed).toMatchObject({ id: team.id, name: 'Product Design', slug: 'product-design' });
    const recased = dataOf<Team>(await updateTeam(team.id, 'PRODUCT design'), 'updateTeam');
    expect(recased).toMatchObject({ name: 'PRODUCT design', slug: 'product-design' });

    const [row] = await server.sql('SELECT name, slug FROM teams WHERE id = $1', [team.id]);
    expect(row).toEqual({ name: 'PRODUCT design', slug: 'product-design' });
    const audits = await auditsOf(team.id);
    expect(audits.map((audit) => audit.action)).toEqual(['team.created', 'team.updated', 'team.updated']);
    expect(audits[1].changes).toEqual({
      before: { name: 'Design', slug: 'design' },
      after: { name: 'Product Design', slug: 'product-design' },
    });
  });

  it("refuses another team's name, and leaves an unchanged name unaudited", async () => {
    await createTeam('Security');
    const team = await createTeam('Compliance');
    const taken = await updateTeam(team.id, 'security');
    expect(taken.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'team.name_in_use' });
    expect(dataOf<Team>(await updateTeam(team.id, 'Compliance'), 'updateTeam').slug).toBe('compliance');
    expect((await auditsOf(team.id)).map((audit) => audit.action)).toEqual(['team.created']);
  });

  it('deletes a team with its memberships; the users remain', async () => {
    const team = await createTeam('Short-lived');
    expect((await addMembers(team.id, [alice.id, bob.id])).errors).toBeUndefined();
    const deleted = await server.graphql(DELETE, { id: team.id }, { token: editor.token });
    expect(dataOf(deleted, 'deleteTeam')).toBe(true);

    expect(await server.sql('SELECT 1 FROM teams WHERE id = $1', [team.id])).toHaveLength(0);
    expect(await memberIdsInDb(team.id)).toEqual([]);
    expect(await server.sql('SELECT 1 FROM users WHERE id = ANY($1)', [[alice.id, bob.id]])).toHaveLength(2);
    const audits = await auditsOf(team.id);
    expect(audits.map((audit) => audit.action)).toEqual(['team.created', 'team.members_added', 'team.deleted']);
    expect(audits[2].changes).toEqual({
      before: { name: 'Short-lived', slug: 'short-lived', userIds: sorted([alice.id, bob.id]) },
    });

    const again = await server.graphql(DELETE, { id: team.id }, { token: editor.token });
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'team.not_found' });
  });
});

describe('team members', () => {
  it('adds members of the org, listed by email, and skips those already in the team', async () => {
    const team = await createTeam('Frontend');
    const added = dataOf<Team>(await addMembers(team.id, [carol.id, alice.id, carol.id]), 'addTeamMembers');
    expect(added.members.map((member) => member.id)).toEqual([alice.id, carol.id]);

    const again = dataOf<Team>(await addMembers(team.id, [alice.id, bob.id]), 'addTeamMembers');
    expect(again.members.map((member) => member.id)).toEqual([alice.id, bob.id, carol.id]);
    const unchanged = dataOf<Team>(await addMembers(team.id, [bob.id]), 'addTeamMembers');
    expect(unchanged.members).toHaveLength(3);

    expect(await memberIdsInDb(team.id)).toEqual(sorted([alice.id, bob.id, carol.id]));
    const audits = await auditsOf(team.id);
    expect(audits.map((audit) => [audit.action, audit.changes])).toEqual([
      ['team.created', expect.anything()],
      ['team.members_added', { userIds: sorted([alice.id, carol.id]) }],
      ['team.members_added', { userIds: [bob.id] }],
    ]);
  });

  it('adds a deactivated member of the org', async () => {
    const dormant = await createUser(server, 'dormant@teams.test');
    await addMember(server, orgId, dormant, 'viewer');
    await server.sql(`UPDATE memberships SET status = 'DEACTIVATED' WHERE user_id = $1`, [dormant]);
    const team = await createTeam('Alumni');
    expect(dataOf<Team>(await addMembers(team.id, [dormant]), 'addTeamMembers').members).toEqual([
      { id: dormant, email: 'dormant@teams.test' },
    ]);
  });

  it('refuses the whole call when one user is not a member of the org', async () => {
    const team = await createTeam('Mobile');
    const outsider = await addMembers(team.id, [carol.id, oscar.id]);
    expect(outsider.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'team.user_not_member',
      field: 'userIds',
    });
    expect(outsider.errors?.[0].message).toContain(oscar.id);

    const malformed = await addMembers(team.id, [carol.id, 'not-an-id']);
    expect(malformed.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userIds' });
    expect(malformed.errors?.[0].message).toContain('not-an-id');

    expect(await memberIdsInDb(team.id)).toEqual([]);
    expect((await auditsOf(team.id)).map((audit) => audit.action)).toEqual(['team.created']);
  });

  it('removes members, ignoring users not in the team', async () => {
    const team = await createTeam('Backend Guild');
    await addMembers(team.id, [alice.id, bob.id]);
    const removed = dataOf<Team>(await removeMembers(team.id, [bob.id, carol.id, 'not-an-id']), 'removeTeamMembers');
    expect(removed.members.map((member) => member.id)).toEqual([alice.id]);
    expect(dataOf<Team>(await removeMembers(team.id, [bob.id]), 'removeTeamMembers').members).toHaveLength(1);

    expect(await memberIdsInDb(team.id)).toEqual([alice.id]);
    const audits = await auditsOf(team.id);
    expect(audits.map((audit) => [audit.action, audit.changes])).toEqual([
      ['team.created', expect.anything()],
      ['team.members_added', expect.anything()],
      ['team.members_removed', { userIds: [bob.id] }],
    ]);
  });

  it("lists a user's teams in an org, for a user in two teams", async () => {
    const first = await createTeam('Zeta Squad');
    const second = await createTeam('Alpha Squad');
    await addMembers(first.id, [bob.id]);
    await addMembers(second.id, [bob.id, carol.id]);
    const query = `query ($id: ID!, $orgId: ID!) { user(id: $id) { teams(orgId: $orgId) { name } } }`;
    const teamsOf = async (token: string) =>
      dataOf<{ teams: Array<{ name: string }> }>(await server.graphql(query, { id: bob.id, orgId }, { token }), 'user')
        .teams.map((team) => team.name)
        .filter((name) => name.endsWith('Squad'));
    expect(await teamsOf(viewer.token)).toEqual(['Alpha Squad', 'Zeta Squad']);
    expect(await teamsOf(bob.token)).toEqual(['Alpha Squad', 'Zeta Squad']);

    await server.graphql(DELETE, { id: first.id }, { token: editor.token });
    expect(await teamsOf(bob.token)).toEqual(['Alpha Squad']);
    expect(await memberIdsInDb(second.id)).toEqual(sorted([bob.id, carol.id]));
  });

  it('filters users(orgId, filter: { teamId }) by a real team', async () => {
    const team = await createTeam('Data');
    await addMembers(team.id, [carol.id, alice.id]);
    const query = `query ($orgId: ID!, $teamId: ID!) {
      users(orgId: $orgId, filter: { teamId: $teamId }) { totalCount edges { node { id } } }
    }`;
    const { users } = (await server.graphql(query, { orgId, teamId: team.id }, { token: viewer.token })).data;
    expect(users.totalCount).toBe(2);
    expect(users.edges.map((edge: any) => edge.node.id)).toEqual([alice.id, carol.id]);

    const empty = await createTeam('Empty');
    const none = (await server.graphql(query, { orgId, teamId: empty.id }, { token: viewer.token })).data.users;
    expect(none).toEqual({ totalCount: 0, edges: [] });
  });
});

describe('team permissions', () => {
  let team: Team;

  beforeAll(async () => {
    team = await createTeam('Guarded');
    await addMembers(team.id, [alice.id]);
  });

  async function expectUnchanged() {
    const [row] = await server.sql('SELECT name FROM teams WHERE id = $1', [team.id]);
    expect(row).toEqual({ name: 'Guarded' });
    expect(await memberIdsInDb(team.id)).toEqual([alice.id]);
    expect((await auditsOf(team.id)).map((audit) => audit.action)).toEqual(['team.created', 'team.members_added']);
  }

  it('refuses writes to a viewer (FORBIDDEN)', async () => {
    const token = viewer.token;
    const responses = [
      await server.graphql(CREATE, { input: { orgId, name: 'Viewer team' } }, { token }),
      await updateTeam(team.id, 'Renamed', token),
      await server.graphql(DELETE, { id: team.id }, { token }),
      await addMembers(team.id, [bob.id], token),
      await removeMembers(team.id, [alice.id], token),
    ];
    expect(responses.map(errorCode)).toEqual(Array(5).fill('FORBIDDEN'));
    expect(await server.sql(`SELECT 1 FROM teams WHERE name = 'Viewer team'`)).toHaveLength(0);
    await expectUnchanged();
  });

  it('answers NOT_FOUND to a caller from another org', async () => {
    const token = stranger.token;
    const responses = [
      await updateTeam(team.id, 'Renamed', token),
      await server.graphql(DELETE, { id: team.id }, { token }),
      await addMembers(team.id, [oscar.id], token),
      await removeMembers(team.id, [alice.id], token),
    ];
    for (const response of responses) {
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'team.not_found' });
    }
    const create = await server.graphql(CREATE, { input: { orgId, name: 'Intruders' } }, { token });
    expect(create.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'org.not_found' });
    const node = await server.graphql('query ($id: ID!) { node(id: $id) { id } }', { id: team.id }, { token });
    expect(errorCode(node)).toBe('NOT_FOUND');
    const ownTeams = await server.graphql(
      'query ($orgId: ID!) { me { teams(orgId: $orgId) { id } } }',
      { orgId },
      { token },
    );
    expect(ownTeams.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'org.not_found' });
    await expectUnchanged();
  });

  it('answers UNAUTHENTICATED to an anonymous caller', async () => {
    const create = await server.graphql(CREATE, { input: { orgId, name: 'Anonymous' } });
    expect(errorCode(create)).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.graphql(ADD, { teamId: team.id, userIds: [bob.id] }))).toBe('UNAUTHENTICATED');
    await expectUnchanged();
  });

  it('lets a viewer read Org.teams, Team.members and node(id)', async () => {
    const query = `query ($orgId: ID!, $teamId: ID!) {
      org(id: $orgId) { teams(first: 100) { edges { node { id name slug org { id } members { edges { node { id email } } } } } } }
      node(id: $teamId) { id ... on Team { name members { edges { node { email } } } } }
    }`;
    const response = await server.graphql(query, { orgId, teamId: team.id }, { token: viewer.token });
    expect(response.errors).toBeUndefined();
    const { org, node } = withNodes(response.data);
    const names: string[] = org.teams.map((listed: Team) => listed.name);
    expect(names).toEqual([...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    expect(org.teams.find((listed: Team) => listed.id === team.id)).toEqual({
      id: team.id,
      name: 'Guarded',
      slug: 'guarded',
      org: { id: orgId },
      members: [{ id: alice.id, email: alice.email }],
    });
    expect(node).toEqual({ id: team.id, name: 'Guarded', members: [{ email: alice.email }] });
  });

  it('without teams:read, shows a user only their own teams', async () => {
    const roleResponse = await server.graphql(
      'mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }',
      { input: { orgId, name: 'Org reader', permissions: ['org:read', 'members:read'] } },
      { token: owner.token },
    );
    const reader = await person(server, 'reader', { orgId, role: 'viewer' });
    await server.sql('UPDATE memberships SET role_id = $1 WHERE user_id = $2', [
      dataOf<{ id: string }>(roleResponse, 'createRole').id,
      reader.id,
    ]);
    await addMembers(team.id, [reader.id]);
    const otherTeam = await createTeam('Not for readers');
    const token = reader.token;
    const read = (query: string, variables: Record<string, unknown>) => server.graphql(query, variables, { token });

    const own = await read(
      'query ($orgId: ID!) { me { teams(orgId: $orgId) { id name members { edges { node { id } } } } } }',
      { orgId },
    );
    expect(withNodes(own.data?.me.teams)).toEqual([
      { id: team.id, name: 'Guarded', members: [{ id: alice.id }, { id: reader.id }] },
    ]);
    expect(errorCode(await read('query ($id: ID!) { node(id: $id) { id } }', { id: team.id }))).toBeUndefined();

    const others = 'query ($id: ID!, $orgId: ID!) { user(id: $id) { teams(orgId: $orgId) { id } } }';
    expect(errorCode(await read(others, { id: alice.id, orgId }))).toBe('FORBIDDEN');
    expect(
      errorCode(await read('query ($orgId: ID!) { org(id: $orgId) { teams { edges { node { id } } } } }', { orgId })),
    ).toBe('FORBIDDEN');
    expect(errorCode(await read('query ($id: ID!) { node(id: $id) { id } }', { id: otherTeam.id }))).toBe('NOT_FOUND');
  });
});

describe('no N+1', () => {
  const TEAMS =
    'query ($orgId: ID!) { org(id: $orgId) { teams { edges { node { name members { edges { node { email } } } } } } } }';

  /** An org of `teams` teams, each with three members. */
  async function orgWithTeams(name: string, teams: number): Promise<string> {
    const id = await createOrgAs(server, owner.token, name);
    for (let i = 0; i < teams; i++) {
      const team = await createTeam(`Team ${i}`, owner.token, id);
      const members: string[] = [];
      for (let j = 0; j < 3; j++) {
        const userId = await createUser(server, `${name}-${i}-${j}@bulk.test`.toLowerCase().replace(/ /g, '-'));
        await addMember(server, id, userId, 'viewer');
        members.push(userId);
      }
      expect((await addMembers(team.id, members, owner.token)).errors).toBeUndefined();
    }
    return id;
  }

  async function statementsFor(org: string): Promise<{ count: number; teams: number }> {
    const statements = server.gateway.database.statements;
    const before = statements.total;
    const response = await server.graphql(TEAMS, { orgId: org }, { token: owner.token });
    expect(response.errors).toBeUndefined();
    return { count: statements.total - before, teams: response.data.org.teams.edges.length };
  }

  it('issues the same number of SQL statements for 2 teams as for 10', async () => {
    const small = await statementsFor(await orgWithTeams('Small Org', 2));
    const large = await statementsFor(await orgWithTeams('Large Org', 10));
    expect(small.teams).toBe(2);
    expect(large.teams).toBe(10);
    expect(large.count).toBe(small.count);
  });
});
