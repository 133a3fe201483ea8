import { createOrgAs, person, roleId, type Person } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const MAX_ITEMS = 10_000;
const TEAM_SIZE = 600;
/**
 * The org's roles, its four built-in ones included: `Org.roles` is a plain list, all of them at
 * once (lists that can grow past a page are connections; the budget bounds the plain ones left).
 */
const ROLES = 600;

type Seeded = { server: TestGateway; owner: Person; orgId: string; teamId: string };

/**
 * An org whose team "Big" has TEAM_SIZE viewers, and with ROLES roles, inserted with SQL: the API
 * would take minutes.
 */
async function seed(server: TestGateway): Promise<Seeded> {
  const owner = await person(server, 'budget-owner');
  const orgId = await createOrgAs(server, owner.token, 'Budget Org');
  const [team] = await server.sql(`INSERT INTO teams (org_id, name, slug) VALUES ($1, 'Big', 'big') RETURNING id`, [
    orgId,
  ]);
  await server.sql(
    `WITH people AS (
       INSERT INTO users (email, first_name)
       SELECT 'big' || n || '.' || $3 || '@example.com', 'Big' || n FROM generate_series(1, $4::int) AS n
       RETURNING id
     ), joined AS (
       INSERT INTO memberships (org_id, user_id, role_id) SELECT $1, id, $2 FROM people
     )
     INSERT INTO team_members (team_id, user_id) SELECT $5, id FROM people`,
    [orgId, await roleId(server, orgId, 'viewer'), orgId.slice(0, 8), TEAM_SIZE, team.id],
  );
  await server.sql(
    `INSERT INTO roles (org_id, key, name, permissions)
     SELECT $1, 'custom-' || n, 'Custom ' || n, '{org:read}' FROM generate_series(1, $2::int) AS n`,
    [orgId, ROLES - 4],
  );
  return { server, owner, orgId, teamId: team.id };
}

/** `count` aliases of the org's roles, read through `node` as a client would. */
function rolesTimes(count: number, fields = 'id key name'): string {
  const aliases = Array.from(
    { length: count },
    (_, index) => `o${index}: node(id: $orgId) { ... on Org { roles { ${fields} } } }`,
  );
  return `query ($orgId: ID!) { ${aliases.join(' ')} }`;
}

/** How many roles every alias of the answer holds, in all. */
function rolesReturned(data: Record<string, { roles: unknown[] } | null> | null | undefined): number {
  return Object.values(data ?? {}).reduce((sum, org) => sum + (org?.roles.length ?? 0), 0);
}

let seeded: Seeded;

beforeAll(async () => {
  seeded = await seed(await startTestGateway());
});

afterAll(async () => {
  await seeded.server.close();
});

describe('the list budget', () => {
  it("refuses 30 aliases of an org's many roles past the budget, and the gateway answers afterwards", async () => {
    const { server, owner, orgId } = seeded;
    const started = performance.now();
    const response = await server.graphql(rolesTimes(30, 'id'), { orgId }, { token: owner.token });
    const elapsed = performance.now() - started;

    expect(response.status).toBe(200);
    const refusals = (response.errors ?? []).filter((error) => error.extensions?.reason === 'query.too_costly');
    // 16 aliases fit the budget (9,600 roles); the 17th crosses it and the later ones are refused.
    expect(refusals).toHaveLength(30 - Math.floor(MAX_ITEMS / ROLES));
    expect(refusals).toHaveLength(response.errors!.length);
    expect(refusals[0].extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'query.too_costly', maxCost: MAX_ITEMS });
    expect(refusals[0].message).toMatch(/lists returned more than 10000 items; page through them/);
    expect(rolesReturned(response.data)).toBe(Math.floor(MAX_ITEMS / ROLES) * ROLES);
    // Loose, for machines that vary: the 9,600 roles within the budget still cost a permission check
    // each (about 2 s on an idle 2-core machine, several times that when the machine is busy).
    expect(elapsed).toBeLessThan(20_000);

    const after = await server.graphql('{ me { id } }', {}, { token: owner.token });
    expect(after.errors).toBeUndefined();
    expect(after.data.me.id).toBe(owner.id);
  });

  it('is spent per request: the same query within the budget answers every time', async () => {
    const { server, owner, orgId } = seeded;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await server.graphql(rolesTimes(16, 'id'), { orgId }, { token: owner.token });
      expect(response.errors).toBeUndefined();
      expect(rolesReturned(response.data)).toBe(16 * ROLES);
    }
  });

  it('answers ordinary queries: an org with its teams, a page of 100 members', async () => {
    const { server, owner, orgId } = seeded;
    const teams = await server.graphql(
      'query ($orgId: ID!) { org(id: $orgId) { teams { edges { node { id name } } } } }',
      { orgId },
      { token: owner.token },
    );
    expect(teams.errors).toBeUndefined();
    expect(teams.data.org.teams.edges).toEqual([{ node: expect.objectContaining({ name: 'Big' }) }]);

    const page = await server.graphql(
      'query ($orgId: ID!) { org(id: $orgId) { members(first: 100) { edges { node { user { email } role { key } } } } } }',
      { orgId },
      { token: owner.token },
    );
    expect(page.errors).toBeUndefined();
    expect(page.data.org.members.edges).toHaveLength(100);
  });
});

describe('a smaller MAX_QUERY_COST', () => {
  let small: Seeded;

  beforeAll(async () => {
    small = await seed(await startTestGateway({ MAX_QUERY_COST: '1250' }));
  });

  afterAll(async () => {
    await small.server.close();
  });

  it('is the budget: lists up to it answer, one more item is refused', async () => {
    const { server, owner, orgId } = small;
    const twice = await server.graphql(rolesTimes(2, 'id'), { orgId }, { token: owner.token });
    expect(twice.errors).toBeUndefined();
    const thrice = await server.graphql(rolesTimes(3, 'id'), { orgId }, { token: owner.token });
    expect(thrice.errors?.[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'query.too_costly',
      maxCost: 1250,
    });
  });

  it("counts a connection's edges too", async () => {
    const { server, owner, orgId } = small;
    // 2 × 600 roles and a page of 100 edges: 1,300 items, past 1,250; without the page, 1,200.
    const response = await server.graphql(
      `query ($orgId: ID!) {
        a: node(id: $orgId) { ... on Org { roles { id } } }
        b: node(id: $orgId) { ... on Org { roles { id } } }
        page: org(id: $orgId) { members(first: 100) { edges { node { id } } } }
      }`,
      { orgId },
      { token: owner.token },
    );
    expect(response.errors?.[0].extensions?.reason).toBe('query.too_costly');
  });

  it('refuses every later mutation of an operation past its budget before it runs', async () => {
    const { server, owner, orgId } = small;
    // Each update reads the org's 600 roles: the third passes 1,250 (its defaultOrg becomes null).
    const renames = Array.from(
      { length: 3 },
      (_, index) => `r${index}: updateUser(id: $me, input: { defaultOrgId: $orgId }) { defaultOrg { roles { id } } }`,
    );
    const response = await server.graphql(
      `mutation ($me: ID!, $orgId: ID!) {
        ${renames.join(' ')}
        after: createTeam(input: { orgId: $orgId, name: "After the budget" }) { id }
      }`,
      { me: owner.id, orgId },
      { token: owner.token },
    );
    expect(response.errors?.map((error) => [error.path?.[0], error.extensions?.reason])).toEqual([
      ['r2', 'query.too_costly'],
      ['after', 'query.too_costly'],
    ]);
    // createTeam's result is not nullable, so its refusal nulls the whole answer.
    expect(response.data).toBeNull();
    expect(await server.sql(`SELECT 1 FROM teams WHERE name = 'After the budget'`)).toHaveLength(0);
  });

  it("answers an import's results in full, though they list more items than the budget", async () => {
    const { server, owner, orgId } = small;
    // 700 lines, each failing (an unknown role): 700 results and 700 failures, 1,400 items.
    const csv = ['email,role', ...Array.from({ length: 700 }, (_, n) => `line${n}@example.com,no such role`)].join(
      '\n',
    );
    const response = await server.graphql(
      `mutation ($orgId: ID!, $csv: String!) {
        importUsers(orgId: $orgId, csv: $csv) { failed { line } lines { status } }
      }`,
      { orgId, csv },
      { token: owner.token },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.importUsers.lines).toHaveLength(700);
    expect(response.data.importUsers.failed).toHaveLength(700);
  });
});
