import { randomBytes } from 'node:crypto';
import { addMember, createOrgAs, createUser, MEMBER_PASSWORD, person, roleId, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/** More than two pages of 10: the paging checks read pages of 10 over this many items. */
const ITEMS = 25;

let server: TestGateway;
let superToken: string;
let owner: Person;
let orgId: string;
let ids: Record<string, string>;

const hex = () => randomBytes(4).toString('hex');

async function sqlIds(text: string, params: unknown[]): Promise<string[]> {
  return (await server.sql<{ id: string }>(text, params)).map((row) => row.id);
}

/** `count` users who are members of the org (with a role key), returning their ids. */
async function members(count: number, role = 'viewer', kind = 'HUMAN'): Promise<string[]> {
  const tag = hex();
  const userIds = await sqlIds(
    `INSERT INTO users (email, first_name, kind)
     SELECT CASE WHEN $3 = 'SERVICE_ACCOUNT' THEN NULL ELSE 'm' || n || '.' || $2 || '@example.com' END, 'M' || n || $2, $3
       FROM generate_series(1, $1::int) AS n RETURNING id`,
    [count, tag, kind],
  );
  await server.sql('INSERT INTO memberships (org_id, user_id, role_id) SELECT $1, unnest($2::uuid[]), $3', [
    orgId,
    userIds,
    await roleId(server, orgId, role),
  ]);
  return userIds;
}

async function seed(): Promise<void> {
  const { accessToken } = await server.login();
  superToken = accessToken;
  owner = await person(server, 'conn-owner');
  orgId = await createOrgAs(server, owner.token, 'Connections Org');
  const [team] = await sqlIds(
    `INSERT INTO teams (org_id, name, slug) VALUES ($1, 'Paged team', 'paged-team') RETURNING id`,
    [orgId],
  );
  const [group] = await sqlIds(`INSERT INTO groups (org_id, name) VALUES ($1, 'Paged group') RETURNING id`, [orgId]);
  const [resource] = await sqlIds(`INSERT INTO resources (org_id, name) VALUES ($1, 'paged-resource') RETURNING id`, [
    orgId,
  ]);
  const [serviceAccount] = await members(1, 'viewer', 'SERVICE_ACCOUNT');
  ids = { team, group, resource, serviceAccount };

  await server.sql(
    `INSERT INTO orgs (name, slug) SELECT 'Bulk org ' || n, 'bulk-org-' || n FROM generate_series(1, $1::int) AS n`,
    [ITEMS],
  );
  await server.sql(
    `INSERT INTO sessions (user_id, expires_at, created_at)
     SELECT $1, now() + interval '1 day', now() - n * interval '1 minute' FROM generate_series(1, $2::int) AS n`,
    [owner.id, ITEMS],
  );
  await server.sql(
    `INSERT INTO teams (org_id, name, slug) SELECT $1, 'Team ' || n, 'team-' || n FROM generate_series(1, $2::int) AS n`,
    [orgId, ITEMS],
  );
  await server.sql(`INSERT INTO groups (org_id, name) SELECT $1, 'Group ' || n FROM generate_series(1, $2::int) AS n`, [
    orgId,
    ITEMS,
  ]);
  await server.sql(
    `INSERT INTO resources (org_id, name) SELECT $1, 'resource-' || n FROM generate_series(1, $2::int) AS n`,
    [orgId, ITEMS],
  );
  await server.sql(
    `INSERT INTO invitations (org_id, kind, email, role_id, token_hash, expires_at, created_at)
     SELECT $1, 'EMAIL', 'invitee' || n || '@example.com', $2, decode(md5(n::text), 'hex'), now() + interval '7 days',
            now() - n * interval '1 minute'
       FROM generate_series(1, $3::int) AS n`,
    [orgId, await roleId(server, orgId, 'viewer'), ITEMS],
  );
  await server.sql(
    `INSERT INTO api_keys (org_id, owner_id, name, prefix, fingerprint, scopes, created_at)
     SELECT $1, $2, 'Key ' || n, 'pk_' || n, decode(md5('key' || n), 'hex'), '{}', now() - n * interval '1 minute'
       FROM generate_series(1, $3::int) AS n`,
    [orgId, serviceAccount, ITEMS],
  );
  await members(ITEMS, 'viewer', 'SERVICE_ACCOUNT');
  const people = await members(ITEMS);
  await server.sql('INSERT INTO team_members (team_id, user_id) SELECT $1, unnest($2::uuid[])', [team, people]);
  await server.sql('INSERT INTO group_members (group_id, user_id) SELECT $1, unnest($2::uuid[])', [group, people]);
  await server.sql(
    `INSERT INTO access_grants (resource_id, user_id, level, created_at)
     SELECT $1, person, 'READ', now() + n * interval '1 second' FROM unnest($2::uuid[]) WITH ORDINALITY AS p(person, n)`,
    [resource, people],
  );
  await server.sql(
    `INSERT INTO access_grants (resource_id, group_id, level, created_at)
     SELECT r.id, $1, 'READ', now() + row_number() OVER (ORDER BY r.name) * interval '1 second'
       FROM resources r WHERE r.org_id = $2 AND r.name LIKE 'resource-%'`,
    [group, orgId],
  );
}

/** A key of the seeded service account, newer than every other. */
const newestKey = () =>
  server.sql(
    `INSERT INTO api_keys (org_id, owner_id, name, prefix, fingerprint, scopes) VALUES ($1, $2, 'Newest', $3, $4, '{}')`,
    [orgId, ids.serviceAccount, `pk_${hex()}`, randomBytes(32)],
  );

type Case = {
  name: string;
  /** The connection's selection, with $first and $after in place, and where its page is in `data`. */
  query: string;
  page: (data: any) => any;
  variables?: () => Record<string, unknown>;
  token?: () => string;
  /** Adds an item that sorts before every existing one (a newest item, for newest-first lists). */
  insertFirst: () => Promise<unknown>;
};

const CONNECTION =
  'totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } }';
const orgQuery = (field: string) => `query ($orgId: ID!, $first: Int, $after: String) {
  org(id: $orgId) { ${field}(first: $first, after: $after) { ${CONNECTION} } } }`;
const nodeQuery = (type: string, field: string) => `query ($id: ID!, $first: Int, $after: String) {
  node(id: $id) { ... on ${type} { ${field}(first: $first, after: $after) { ${CONNECTION} } } } }`;

const CASES: Case[] = [
  {
    name: 'Query.orgs',
    query: `query ($first: Int, $after: String) { orgs(first: $first, after: $after) { ${CONNECTION} } }`,
    page: (data) => data.orgs,
    token: () => superToken,
    insertFirst: () => server.sql(`INSERT INTO orgs (name, slug) VALUES ('AAA first org', $1)`, [`aaa-${hex()}`]),
  },
  {
    name: 'Query.sessions',
    query: `query ($first: Int, $after: String) { sessions(first: $first, after: $after) { ${CONNECTION} } }`,
    page: (data) => data.sessions,
    insertFirst: () => server.login(owner.email, MEMBER_PASSWORD),
  },
  {
    name: 'Org.teams',
    query: orgQuery('teams'),
    page: (data) => data.org.teams,
    insertFirst: () =>
      server.sql(`INSERT INTO teams (org_id, name, slug) VALUES ($1, 'AAA team', $2)`, [orgId, `aaa-${hex()}`]),
  },
  {
    name: 'Org.groups',
    query: orgQuery('groups'),
    page: (data) => data.org.groups,
    insertFirst: () => server.sql(`INSERT INTO groups (org_id, name) VALUES ($1, 'AAA group')`, [orgId]),
  },
  {
    name: 'Org.resources',
    query: orgQuery('resources'),
    page: (data) => data.org.resources,
    insertFirst: () => server.sql(`INSERT INTO resources (org_id, name) VALUES ($1, $2)`, [orgId, `a-${hex()}`]),
  },
  {
    name: 'Org.invitations',
    query: orgQuery('invitations'),
    page: (data) => data.org.invitations,
    insertFirst: async () =>
      server.graphql(
        'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
        { input: { orgId, email: `new-${hex()}@example.com`, roleId: await roleId(server, orgId, 'viewer') } },
        { token: owner.token },
      ),
  },
  {
    name: 'Org.apiKeys',
    query: orgQuery('apiKeys'),
    page: (data) => data.org.apiKeys,
    insertFirst: () => newestKey(),
  },
  {
    name: 'Org.serviceAccounts',
    query: orgQuery('serviceAccounts'),
    page: (data) => data.org.serviceAccounts,
    insertFirst: async () => {
      const [account] = await sqlIds(
        `INSERT INTO users (first_name, kind) VALUES ('AAA', 'SERVICE_ACCOUNT') RETURNING id`,
        [],
      );
      await addMember(server, orgId, account, 'viewer');
    },
  },
  {
    name: 'Team.members',
    query: nodeQuery('Team', 'members'),
    page: (data) => data.node.members,
    variables: () => ({ id: ids.team }),
    insertFirst: async () => {
      const userId = await createUser(server, `aaa-${hex()}@example.com`);
      await addMember(server, orgId, userId, 'viewer');
      await server.sql('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)', [ids.team, userId]);
    },
  },
  {
    name: 'Group.members',
    query: nodeQuery('Group', 'members'),
    page: (data) => data.node.members,
    variables: () => ({ id: ids.group }),
    insertFirst: async () => {
      const userId = await createUser(server, `aaa-${hex()}@example.com`);
      await addMember(server, orgId, userId, 'viewer');
      await server.sql('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [ids.group, userId]);
    },
  },
  {
    name: 'Group.grants',
    query: nodeQuery('Group', 'grants'),
    page: (data) => data.node.grants,
    variables: () => ({ id: ids.group }),
    insertFirst: async () => {
      const [resource] = await sqlIds(`INSERT INTO resources (org_id, name) VALUES ($1, $2) RETURNING id`, [
        orgId,
        `early-${hex()}`,
      ]);
      await server.sql(
        `INSERT INTO access_grants (resource_id, group_id, level, created_at) VALUES ($1, $2, 'READ', now() - interval '1 day')`,
        [resource, ids.group],
      );
    },
  },
  {
    name: 'Resource.grants',
    query: nodeQuery('Resource', 'grants'),
    page: (data) => data.node.grants,
    variables: () => ({ id: ids.resource }),
    insertFirst: async () => {
      const [userId] = await members(1);
      await server.sql(
        `INSERT INTO access_grants (resource_id, user_id, level, created_at) VALUES ($1, $2, 'READ', now() - interval '1 day')`,
        [ids.resource, userId],
      );
    },
  },
  {
    name: 'User.apiKeys',
    query: nodeQuery('User', 'apiKeys'),
    page: (data) => data.node.apiKeys,
    variables: () => ({ id: ids.serviceAccount }),
    insertFirst: () => newestKey(),
  },
];

async function read(testCase: Case, first: number, after?: string | null) {
  const response = await server.graphql(
    testCase.query,
    { orgId, ...testCase.variables?.(), first, after },
    { token: testCase.token?.() ?? owner.token },
  );
  expect(response.errors).toBeUndefined();
  return testCase.page(response.data);
}

const nodeIds = (page: any): string[] => page.edges.map((edge: any) => edge.node.id);

beforeAll(async () => {
  server = await startTestGateway();
  await seed();
});

afterAll(async () => {
  await server.close();
});

describe.each(CASES)('$name', (testCase) => {
  it('pages forward with first/after to the end, with totalCount and complete page info', async () => {
    const all = await read(testCase, 100);
    expect(all.totalCount).toBeGreaterThanOrEqual(ITEMS);
    expect(all.edges).toHaveLength(all.totalCount);
    expect(all.pageInfo.hasNextPage).toBe(false);

    const seen: string[] = [];
    let after: string | null = null;
    for (let index = 0; ; index++) {
      const page = await read(testCase, 10, after);
      expect(page.totalCount).toBe(all.totalCount);
      expect(page.pageInfo.hasPreviousPage).toBe(index > 0);
      expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      seen.push(...nodeIds(page));
      if (!page.pageInfo.hasNextPage) break;
      expect(page.edges).toHaveLength(10);
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(nodeIds(all));
  });

  it('keeps a cursor in place while items are inserted before it', async () => {
    const before = nodeIds(await read(testCase, 100));
    const first = await read(testCase, 10);
    await testCase.insertFirst();
    const second = await read(testCase, 10, first.pageInfo.endCursor);
    expect(nodeIds(second)).toEqual(before.slice(10, 20));
    const now = nodeIds(await read(testCase, 100));
    expect(now).toHaveLength(before.length + 1);
    expect(now.slice(1)).toEqual(before);
  });

  it('refuses a forged cursor, a cursor of another list and a page size out of range', async () => {
    const variables = { orgId, ...testCase.variables?.() };
    const token = testCase.token?.() ?? owner.token;
    const otherList = (await server.graphql(
      orgQuery(testCase.name === 'Org.teams' ? 'groups' : 'teams'),
      { orgId, first: 1 },
      {
        token: owner.token,
      },
    )) as any;
    const foreign = (otherList.data.org.teams ?? otherList.data.org.groups).pageInfo.endCursor;
    for (const after of ['not-a-cursor', Buffer.from('["teams","x","y"]').toString('base64url'), foreign]) {
      const response = await server.graphql(testCase.query, { ...variables, first: 5, after }, { token });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    for (const first of [0, 101]) {
      expect(errorCode(await server.graphql(testCase.query, { ...variables, first }, { token }))).toBe(
        'BAD_USER_INPUT',
      );
    }
  });
});

describe('what each caller may see', () => {
  it('orgs: a member sees the orgs where it is an active member, and counts only those', async () => {
    const orgs = await read({ ...CASES[0], token: () => owner.token }, 10);
    expect(orgs.totalCount).toBe(1);
    expect(nodeIds(orgs)).toEqual([orgId]);
  });

  it('sessions: a caller sees only its own', async () => {
    const other = await person(server, 'conn-other', { orgId, role: 'viewer' });
    const sessions = await read({ ...CASES[1], token: () => other.token }, 10);
    expect(sessions.totalCount).toBe(1);
  });

  it('resources: a customer without resources:read sees and counts only what it may use', async () => {
    const email = `customer-${hex()}@example.com`;
    const customer = await createUser(server, email, { kind: 'CUSTOMER' });
    await server.sql(`UPDATE users SET customer_id = 'cust-1' WHERE id = $1`, [customer]);
    await addMember(server, orgId, customer, 'viewer');
    await server.sql(
      `UPDATE resources SET customer_ids = '{cust-1}' WHERE org_id = $1 AND name IN ('resource-3', 'resource-7')`,
      [orgId],
    );
    await server.sql(
      `INSERT INTO access_grants (resource_id, user_id, level) SELECT id, $2, 'READ' FROM resources WHERE org_id = $1 AND name = 'resource-9'`,
      [orgId, customer],
    );
    const { accessToken } = await server.login(email, MEMBER_PASSWORD);
    const resources = await read(
      {
        ...CASES[4],
        query: orgQuery('resources').replace('node { id }', 'node { id name }'),
        token: () => accessToken,
      },
      2,
    );
    expect(resources.totalCount).toBe(3);
    expect(resources.pageInfo.hasNextPage).toBe(true);
    const rest = await read({ ...CASES[4], token: () => accessToken }, 2, resources.pageInfo.endCursor);
    expect(resources.edges.map((edge: any) => edge.node.name)).toEqual(['resource-3', 'resource-7']);
    expect(rest.edges).toHaveLength(1);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it("User.apiKeys: another member's keys only in orgs where the caller holds apikeys:read", async () => {
    const viewer = await person(server, 'conn-viewer', { orgId, role: 'viewer' });
    const keys = await read({ ...CASES[12], token: () => viewer.token }, 10);
    expect(keys.totalCount).toBe(0);
    expect(keys.edges).toEqual([]);
  });
});

describe('nested connections cost a constant number of statements', () => {
  /** Statements for one query, and its answer. */
  async function statements(query: string, variables: Record<string, unknown>, token: string) {
    const counter = server.gateway.database.statements;
    const before = counter.total;
    const response = await server.graphql(query, variables, { token });
    expect(response.errors).toBeUndefined();
    return { count: counter.total - before, data: response.data };
  }

  it('orgs with their teams and the teams\u2019 members: the same for 10 orgs as for 40', async () => {
    const tag = hex();
    const bulkOrgs = await sqlIds(
      `INSERT INTO orgs (name, slug) SELECT '0 nested ' || $1 || ' ' || n, 'nested-' || $1 || '-' || n
         FROM generate_series(1, 40) AS n RETURNING id`,
      [tag],
    );
    const teams = await sqlIds(
      `INSERT INTO teams (org_id, name, slug) SELECT o, 'T' || n, 't-' || n FROM unnest($1::uuid[]) AS o, generate_series(1, 6) AS n RETURNING id`,
      [bulkOrgs],
    );
    const [person1] = await members(1);
    await server.sql('INSERT INTO team_members (team_id, user_id) SELECT unnest($1::uuid[]), $2', [teams, person1]);
    const query = `query ($first: Int!) { orgs(first: $first) { totalCount edges { node { id name
      teams(first: 5) { totalCount pageInfo { hasNextPage } edges { node { id name
        members(first: 5) { totalCount edges { node { id email } } } } } } } } } }`;
    const small = await statements(query, { first: 10 }, superToken);
    const large = await statements(query, { first: 40 }, superToken);
    expect(small.data.orgs.edges).toHaveLength(10);
    expect(large.data.orgs.edges).toHaveLength(40);
    // The nested orgs sort first, so both answers go three levels deep in every org.
    for (const { data } of [small, large]) {
      for (const { node } of data.orgs.edges) {
        expect(node.teams.totalCount).toBe(6);
        expect(node.teams.edges[0].node.members.totalCount).toBe(1);
      }
    }
    expect(large.count).toBe(small.count);
  });

  it("an org's groups with their members and grants, and its resources with their grants: 10 as 40", async () => {
    const [nestedOrg] = await sqlIds(`INSERT INTO orgs (name, slug) VALUES ('Nested groups', $1) RETURNING id`, [
      `nested-groups-${hex()}`,
    ]);
    const groups = await sqlIds(
      `INSERT INTO groups (org_id, name) SELECT $1, 'G' || n FROM generate_series(1, 40) AS n RETURNING id`,
      [nestedOrg],
    );
    const resources = await sqlIds(
      `INSERT INTO resources (org_id, name) SELECT $1, 'r' || n FROM generate_series(1, 40) AS n RETURNING id`,
      [nestedOrg],
    );
    const [userId] = await sqlIds(`INSERT INTO users (email) VALUES ($1) RETURNING id`, [
      `nested-${hex()}@example.com`,
    ]);
    await server.sql('INSERT INTO group_members (group_id, user_id) SELECT unnest($1::uuid[]), $2', [groups, userId]);
    await server.sql(
      `INSERT INTO access_grants (resource_id, group_id, level) SELECT unnest($1::uuid[]), unnest($2::uuid[]), 'READ'`,
      [resources, groups],
    );
    await server.sql(`INSERT INTO access_grants (resource_id, user_id, level) SELECT unnest($1::uuid[]), $2, 'WRITE'`, [
      resources,
      userId,
    ]);
    const query = `query ($orgId: ID!, $first: Int!) { org(id: $orgId) {
      groups(first: $first) { edges { node { id members(first: 5) { totalCount edges { node { id email } } }
        grants(first: 5) { totalCount edges { node { id level } } } } } }
      resources(first: $first) { edges { node { id grants(first: 5) { totalCount edges { node { id level } } } } } } } }`;
    const small = await statements(query, { orgId: nestedOrg, first: 10 }, superToken);
    const large = await statements(query, { orgId: nestedOrg, first: 40 }, superToken);
    expect(large.data.org.groups.edges).toHaveLength(40);
    expect(large.data.org.resources.edges).toHaveLength(40);
    expect(large.data.org.resources.edges[0].node.grants.totalCount).toBe(2);
    expect(large.data.org.groups.edges[0].node.members.totalCount).toBe(1);
    // Two branches loading the same kind of row (users for group members and for grants) share a
    // batch only when their parents arrive in the same tick, so either answer may save a statement:
    // the bound is one statement per distinct load, whatever the page size.
    const distinctLoads = 17;
    expect(small.count).toBeLessThanOrEqual(distinctLoads);
    expect(large.count).toBeLessThanOrEqual(distinctLoads);
  });
});
