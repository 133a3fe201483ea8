import { addMember, createOrgAs, createUser, person, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let owner: Person;
let orgId: string;

const USERS = `query ($orgId: ID!, $first: Int, $after: String, $filter: UserFilter, $orderBy: UserOrder) {
  users(orgId: $orgId, first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id email fullName } membership { role { key } status } }
  }
}`;

type Page = {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: Array<{ node: { email: string; fullName: string } }>;
};

async function page(variables: Record<string, unknown>): Promise<Page> {
  const response = await server.graphql(USERS, { orgId, ...variables }, { token: owner.token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.users;
}

/** Members m00…m24 (viewers, then editors from m20), named so that name order reverses email order. */
async function seedMembers() {
  for (let i = 0; i < 25; i++) {
    const index = String(i).padStart(2, '0');
    const id = await createUser(server, `m${index}@paging.test`, {
      firstName: `Name${String(99 - i)}`,
      lastName: 'Member',
    });
    await addMember(server, orgId, id, i < 20 ? 'viewer' : 'editor');
  }
}

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'pager');
  orgId = await createOrgAs(server, owner.token, 'Paging Org');
  await seedMembers();
});

afterAll(async () => {
  await server.close();
});

describe('users connection', () => {
  it('pages by email with stable cursors while rows are inserted around the cursor', async () => {
    const filter = { search: '@paging.test' };
    const first = await page({ first: 10, filter, orderBy: { field: 'EMAIL', direction: 'ASC' } });
    expect(first.totalCount).toBe(25);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(first.edges.map((edge) => edge.node.email)).toEqual(
      Array.from({ length: 10 }, (_, i) => `m${String(i).padStart(2, '0')}@paging.test`),
    );

    // One row lands before the cursor, one after it: the next page neither repeats nor skips.
    for (const email of ['m04a@paging.test', 'm15a@paging.test']) {
      await addMember(server, orgId, await createUser(server, email), 'viewer');
    }
    const second = await page({
      first: 10,
      after: first.pageInfo.endCursor,
      filter,
      orderBy: { field: 'EMAIL', direction: 'ASC' },
    });
    expect(second.edges.map((edge) => edge.node.email)).toEqual([
      'm10@paging.test',
      'm11@paging.test',
      'm12@paging.test',
      'm13@paging.test',
      'm14@paging.test',
      'm15@paging.test',
      'm15a@paging.test',
      'm16@paging.test',
      'm17@paging.test',
      'm18@paging.test',
    ]);
    const third = await page({
      first: 10,
      after: second.pageInfo.endCursor,
      filter,
      orderBy: { field: 'EMAIL', direction: 'ASC' },
    });
    expect(third.edges.map((edge) => edge.node.email)).toEqual(
      Array.from({ length: 6 }, (_, i) => `m${String(19 + i)}@paging.test`),
    );
    expect(third.pageInfo.hasNextPage).toBe(false);
    expect(third.totalCount).toBe(27);
  });

  it('orders by name descending and by join date', async () => {
    const byName = await page({
      first: 3,
      filter: { search: 'member' },
      orderBy: { field: 'NAME', direction: 'DESC' },
    });
    expect(byName.edges.map((edge) => edge.node.fullName)).toEqual(['Name99 Member', 'Name98 Member', 'Name97 Member']);
    const byJoin = await page({ first: 2, orderBy: { field: 'CREATED_AT', direction: 'ASC' } });
    expect(byJoin.edges[0].node.email).toBe(owner.email);
    const rest = await page({
      first: 2,
      after: byJoin.pageInfo.endCursor,
      orderBy: { field: 'CREATED_AT', direction: 'ASC' },
    });
    expect(rest.edges.map((edge) => edge.node.email)).not.toContain(owner.email);
  });

  it('counts correctly under filters', async () => {
    expect((await page({ filter: { role: 'editor' } })).totalCount).toBe(5);
    expect((await page({ filter: { role: 'viewer', search: 'M0' } })).totalCount).toBe(11); // m00–m09 and m04a
    expect((await page({ filter: { role: 'owner' } })).totalCount).toBe(1);
    expect((await page({ filter: { kind: 'SERVICE_ACCOUNT' } })).totalCount).toBe(0);
    await server.sql(
      `UPDATE memberships SET status = 'DEACTIVATED' WHERE user_id = (SELECT id FROM users WHERE email = 'm01@paging.test')`,
    );
    expect((await page({ filter: { status: 'DEACTIVATED' } })).totalCount).toBe(1);
    expect((await page({ filter: { search: '100%_' } })).totalCount).toBe(0);
  });

  it('pages by last login with never-signed-in members last in descending order', async () => {
    const recent = await page({ first: 1, orderBy: { field: 'LAST_LOGIN_AT', direction: 'DESC' } });
    expect(recent.edges[0].node.email).toBe(owner.email);
    let cursor: string | null = recent.pageInfo.endCursor;
    const seen = new Set<string>([recent.edges[0].node.email]);
    while (cursor) {
      const next: Page = await page({
        first: 10,
        after: cursor,
        orderBy: { field: 'LAST_LOGIN_AT', direction: 'DESC' },
      });
      for (const edge of next.edges) seen.add(edge.node.email);
      cursor = next.pageInfo.hasNextPage ? next.pageInfo.endCursor : null;
    }
    expect(seen.size).toBe(28);
  });

  it('rejects a forged cursor and an oversized page', async () => {
    const forged = await server.graphql(USERS, { orgId, after: 'not-a-cursor' }, { token: owner.token });
    expect(forged.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const huge = await server.graphql(USERS, { orgId, first: 1000 }, { token: owner.token });
    expect(errorCode(huge)).toBe('BAD_USER_INPUT');
  });
});

describe('no N+1', () => {
  const MEMBERS = `query ($orgId: ID!, $first: Int!) {
    org(id: $orgId) { members(first: $first) { edges { node { user { email fullName } role { key permissions } } } } }
  }`;

  async function statementsFor(first: number): Promise<{ count: number; edges: number }> {
    const statements = server.gateway.database.statements;
    const before = statements.total;
    const response = await server.graphql(MEMBERS, { orgId, first }, { token: owner.token });
    expect(response.errors).toBeUndefined();
    return { count: statements.total - before, edges: response.data.org.members.edges.length };
  }

  it('issues at most 3 SQL statements for 2 members as for 100', async () => {
    for (let i = 0; i < 75; i++)
      await addMember(server, orgId, await createUser(server, `bulk${i}@paging.test`), 'viewer');
    const small = await statementsFor(2);
    const large = await statementsFor(100);
    expect(small.edges).toBe(2);
    expect(large.edges).toBe(100);
    // The session (none when the token's check is cached), the caller's access in the org
    // (membership, role and group-role permissions, the org row), and the page with its users and
    // roles: the same bound for 2 rows as for 100, so nothing is read per row.
    expect(small.count).toBeLessThanOrEqual(3);
    expect(large.count).toBeLessThanOrEqual(3);
  });

  it('a member page costs at most 3 statements, 10 rows as 100, with a cursor and as a list of users', async () => {
    const PAGE = `query ($orgId: ID!, $first: Int!, $after: String) {
      org(id: $orgId) { members(first: $first, after: $after) { edges { node { user { email } role { key } } } } }
    }`;
    const USER_PAGE = `query ($orgId: ID!, $first: Int!) {
      users(orgId: $orgId, first: $first) { edges { node { email } membership { role { key } } } }
    }`;
    const statements = server.gateway.database.statements;
    const count = async (query: string, variables: Record<string, unknown>) => {
      const before = statements.total;
      const response = await server.graphql(query, { orgId, ...variables }, { token: owner.token });
      expect(response.errors).toBeUndefined();
      return statements.total - before;
    };
    const first = await server.graphql(
      'query ($orgId: ID!) { org(id: $orgId) { members(first: 3) { pageInfo { endCursor } } } }',
      { orgId },
      { token: owner.token },
    );
    const after = first.data.org.members.pageInfo.endCursor;
    expect(after).toEqual(expect.any(String));
    for (const counted of [
      await count(PAGE, { first: 10 }),
      await count(PAGE, { first: 100 }),
      await count(PAGE, { first: 100, after }),
      await count(USER_PAGE, { first: 10 }),
      await count(USER_PAGE, { first: 100 }),
    ]) {
      expect(counted).toBeLessThanOrEqual(3);
    }
  });
});
