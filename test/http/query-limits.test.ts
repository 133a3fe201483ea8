import { getIntrospectionQuery, isObjectType, parse, type OperationDefinitionNode } from 'graphql';
import { operationCost, WHOLE_ORG_FIELDS } from '../../src/core/graphql/query-cost';
import { buildDeclaredSchema } from '../../src/schema';
import { createOrgAs, person, type Person } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const MAX_COST = 10_000;

/** Finding 7 of issue 10: 30 aliases of a nested members listing, within the depth and alias limits. */
const COSTLY = `query ($orgId: ID!) {
  ${Array.from(
    { length: 30 },
    (_, index) => `a${index}: org(id: $orgId) {
      members(first: 100) { edges { node { user { memberships { org {
        members(first: 100) { edges { node { user { email } } } }
      } } } } } }
    }`,
  ).join('\n')}
}`;

const MEMBERS_PAGE = `query ($orgId: ID!) {
  org(id: $orgId) { members(first: 100) { edges { node { user { email } role { key } } } } }
}`;

/** The query of the README's quick start. */
const README_ME = '{ me { id email superUser memberships { org { slug } role { key } } } }';

/** `count` aliases of the org's CSV export. */
function exportsTimes(count: number): string {
  return `query ($orgId: ID!) { ${Array.from({ length: count }, (_, index) => `e${index}: exportUsers(orgId: $orgId)`).join(' ')} }`;
}

/** `a { b { leaf } }` for levels a, b. */
function nest(levels: string[], leaf: string): string {
  return `${levels.join(' { ')} { ${leaf}${' }'.repeat(levels.length)}`;
}

let server: TestGateway;
let owner: Person;
let orgId: string;
let costOf: (query: string, variables?: Record<string, unknown>) => number | null;

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'cost-owner');
  orgId = await createOrgAs(server, owner.token, 'Cost Org');
  const schema = await buildDeclaredSchema();
  costOf = (query, variables = {}) => {
    const document = parse(query);
    return operationCost(schema, document, document.definitions[0] as OperationDefinitionNode, variables, MAX_COST);
  };
});

afterAll(async () => {
  await server.close();
});

describe('the cost model', () => {
  it('counts every field once per item of each list around it', () => {
    // org 1 + members 1 + 100 × (edges, node, user, email, role, key)
    expect(costOf(MEMBERS_PAGE, { orgId })).toBe(602);
    // me, id, email, superUser, memberships 1 + 100 × (org, slug, role, key): a plain list counts as a full page
    expect(costOf(README_ME)).toBe(405);
    expect(costOf('{ me { memberships { id } } }')).toBe(102);
    // The roles of each of the caller's orgs: 1 + 1 + 100 × (org, roles 1 + 100 × key), just over the limit
    expect(costOf('{ me { memberships { org { roles { key } } } } }')).toBe(2 + 100 * 102);
  });

  it("takes a connection's page size from `first`, from variables, or its default of 20", () => {
    const paged = 'query ($first: Int) { me { auditLogs(first: $first) { edges { node { id } } } } }';
    expect(costOf(paged, { first: 5 })).toBe(1 + 1 + 5 * 3);
    expect(costOf(paged, { first: 100 })).toBe(1 + 1 + 100 * 3);
    expect(costOf(paged, {})).toBe(1 + 1 + 20 * 3);
  });

  it('costs fragments as the fields they stand for, and introspection nothing', () => {
    const withFragments = `query ($orgId: ID!) { org(id: $orgId) { ...Page } }
      fragment Page on Org { members(first: 100) { edges { ...Edge } } }
      fragment Edge on MembershipEdge { node { user { email } role { key } } }`;
    expect(costOf(withFragments, { orgId })).toBe(costOf(MEMBERS_PAGE, { orgId }));
    expect(costOf(getIntrospectionQuery())).toBe(0);
  });

  it('costs a whole-org field a quarter of the limit, however little it selects', () => {
    expect(costOf('query ($orgId: ID!) { exportUsers(orgId: $orgId) }', { orgId })).toBe(MAX_COST / 4);
    // verifyAuditChain 2,500 + its own fields 2
    expect(costOf('query ($orgId: ID!) { verifyAuditChain(orgId: $orgId) { valid checked } }', { orgId })).toBe(
      MAX_COST / 4 + 2,
    );
    expect(costOf(exportsTimes(4), { orgId })).toBe(MAX_COST);
    expect(costOf(exportsTimes(5), { orgId })).toBeGreaterThan(MAX_COST);
  });

  it('names only fields the schema has as whole-org fields', async () => {
    const schema = await buildDeclaredSchema();
    const unknown = [...WHOLE_ORG_FIELDS].filter((coordinate) => {
      const [typeName, fieldName] = coordinate.split('.');
      const type = schema.getType(typeName);
      return !isObjectType(type) || !(fieldName in type.getFields());
    });
    expect(unknown).toEqual([]);
  });

  it('puts the attack query of finding 7 far beyond the limit', () => {
    // Per alias: org 1 + members 1 + 100 × (edges, node, user, memberships 1 + 100 × (org, members 1 + 100 × 4))
    expect(costOf(COSTLY, { orgId })).toBe(30 * (2 + 100 * (4 + 100 * (2 + 100 * 4))));
  });
});

describe('the cost limit', () => {
  it('answers ordinary queries', async () => {
    for (const query of [MEMBERS_PAGE, README_ME, getIntrospectionQuery()]) {
      const response = await server.graphql(query, { orgId }, { token: owner.token });
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
    }
  });

  it('refuses the attack query with 400, its cost and the limit, in well under 100 ms', async () => {
    const timings: number[] = [];
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const started = performance.now();
      const response = await server.graphql(COSTLY, { orgId }, { token: owner.token });
      timings.push(performance.now() - started);
      expect(response.status).toBe(400);
      expect(response.data).toBeUndefined();
      expect(response.errors).toHaveLength(1);
      expect(response.errors?.[0].extensions).toEqual({
        code: 'BAD_USER_INPUT',
        reason: 'query.too_costly',
        cost: costOf(COSTLY, { orgId }),
        maxCost: MAX_COST,
      });
    }
    const median = timings.sort((a, b) => a - b)[5];
    expect(median).toBeLessThan(100);
  });

  it('costs a repeated query again for other variables: a remembered cost is per variables', async () => {
    const sized = `query ($orgId: ID!, $n: Int) {
      ${Array.from(
        { length: 10 },
        (_, index) => `a${index}: org(id: $orgId) {
          members(first: $n) { edges { node { user { memberships { org {
            members(first: $n) { edges { node { user { email } } } }
          } } } } } }
        }`,
      ).join('\n')}
    }`;
    for (const [n, status] of [
      [1, 200],
      [100, 400],
      [1, 200],
      [100, 400],
    ]) {
      const response = await server.graphql(sized, { orgId, n }, { token: owner.token });
      expect(response.status).toBe(status);
    }
  });

  it('refuses before anything runs: not one SQL statement', async () => {
    const statements = server.gateway.database.statements;
    const before = statements.total;
    const response = await server.graphql(COSTLY, { orgId });
    expect(response.errors?.[0].extensions?.reason).toBe('query.too_costly');
    expect(statements.total).toBe(before);
  });

  it('reads page sizes from variables and fields from fragments', async () => {
    const nested = `query ($orgId: ID!, $first: Int) { org(id: $orgId) { ...Nested } }
      fragment Nested on Org { ${nest(['members(first: $first)', 'edges', 'node', 'user', 'memberships', 'org', 'members(first: $first)', 'edges', 'node', 'user'], 'email')} }`;
    const cheap = await server.graphql(nested, { orgId, first: 2 }, { token: owner.token });
    expect(cheap.errors).toBeUndefined();
    const costly = await server.graphql(nested, { orgId, first: 100 }, { token: owner.token });
    expect(costly.status).toBe(400);
    expect(costly.errors?.[0].extensions).toMatchObject({ reason: 'query.too_costly', maxCost: MAX_COST });
  });

  it('holds at most four whole-org fields, refusing five before anything runs', async () => {
    const four = await server.graphql(exportsTimes(4), { orgId }, { token: owner.token });
    expect(four.errors).toBeUndefined();
    expect(four.data.e3).toMatch(/^email,/);

    const statements = server.gateway.database.statements;
    const before = statements.total;
    // Anonymous, so that not even the token is looked up.
    const five = await server.graphql(exportsTimes(5), { orgId });
    expect(five.status).toBe(400);
    expect(five.data).toBeUndefined();
    expect(five.errors?.[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'query.too_costly',
      cost: 12_500,
      maxCost: MAX_COST,
    });
    expect(statements.total).toBe(before);
  });

  it('follows MAX_QUERY_COST', async () => {
    const strict = await startTestGateway({ MAX_QUERY_COST: '500' });
    try {
      const response = await strict.graphql(MEMBERS_PAGE, { orgId });
      expect(response.status).toBe(400);
      expect(response.errors?.[0].extensions).toEqual({
        code: 'BAD_USER_INPUT',
        reason: 'query.too_costly',
        cost: 602,
        maxCost: 500,
      });
    } finally {
      await strict.close();
    }
  });
});

describe('the depth and alias limits', () => {
  it('refuse with their own reasons, as 400 BAD_USER_INPUT', async () => {
    // me, then memberships and user in turn: the 13th level is one too deep.
    const deep = `{ ${nest(['me', ...Array.from({ length: 11 }, (_, level) => (level % 2 ? 'user' : 'memberships'))], 'id')} }`;
    const tooDeep = await server.graphql(deep, {}, { token: owner.token });
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'query.too_deep', maxDepth: 12 });
    expect(tooDeep.errors?.[0].message).toMatch(/depth limit of 12/);

    const aliases = `{ ${Array.from({ length: 31 }, (_, index) => `me${index}: me { id }`).join(' ')} }`;
    const tooMany = await server.graphql(aliases, {}, { token: owner.token });
    expect(tooMany.status).toBe(400);
    expect(tooMany.errors?.[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'query.too_many_aliases',
      maxAliases: 30,
    });
  });

  it("keep Apollo's own codes for a syntax error and an unknown field", async () => {
    const unknownField = await server.graphql('{ me { noSuchField } }', {}, { token: owner.token });
    expect(unknownField.status).toBe(400);
    expect(unknownField.errors?.[0].extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    const syntax = await server.graphql('{ me { id }', {}, { token: owner.token });
    expect(syntax.status).toBe(400);
    expect(syntax.errors?.[0].extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
  });
});
