import { createHash } from 'node:crypto';
import { encodeCursor } from '../../src/core/graphql/connection';
import { addMember, createOrgAs, createUser, person, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let owner: Person;
let orgId: string;

/** A cursor sealed as the gateway seals them (same process, same key), holding any value: what a leaked key would allow. */
const forged = (list: string, value: unknown, id = '00000000-0000-4000-8000-000000000000') =>
  encodeCursor(list, { value: value as string | null, id });

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'hardening-owner');
  orgId = await createOrgAs(server, owner.token, 'Hardening Org');
});

afterAll(async () => {
  await server.close();
});

describe('text that cannot be stored', () => {
  const UNSAFE = ['nul \u0000 byte', 'lone \ud800 surrogate', 'stray \udc00 low surrogate'];

  it.each(UNSAFE)('is refused wherever it appears, naming the argument: %j', async (text) => {
    const calls: Array<[string, Record<string, unknown>, string, string | undefined]> = [
      ['mutation ($e: String!) { login(email: $e, password: "x") { accessToken } }', { e: text }, 'email', undefined],
      ['mutation ($e: String!) { requestPasswordReset(email: $e) }', { e: `a${text}@example.com` }, 'email', undefined],
      [
        'mutation ($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { accessToken } }',
        { i: { token: text } },
        'input.token',
        undefined,
      ],
      [
        'mutation ($i: CreateTeamInput!) { createTeam(input: $i) { id } }',
        { i: { orgId, name: text } },
        'input.name',
        owner.token,
      ],
      [
        'query ($o: ID!, $s: String) { users(orgId: $o, filter: { search: $s }) { totalCount } }',
        { o: orgId, s: text },
        'filter.search',
        owner.token,
      ],
      [
        'mutation ($ids: [ID!]!) { addTeamMembers(teamId: "x", userIds: $ids) { id } }',
        { ids: [owner.id, text] },
        'userIds',
        owner.token,
      ],
      ['query ($o: ID!) { me { groups(orgId: $o) { id } } }', { o: text }, 'orgId', owner.token],
    ];
    for (const [query, variables, field, token] of calls) {
      const response = await server.graphql(query, variables, { token });
      expect(response.status).toBe(400);
      expect(response.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'request.unsafe_text', field });
    }
  });

  it('is refused as a literal and as a variable default too', async () => {
    const literal = await server.graphql(
      `query ($o: ID!) { users(orgId: $o, filter: { search: "a\\u0000b" }) { totalCount } }`,
      { o: orgId },
      { token: owner.token },
    );
    expect(literal.errors?.[0].extensions).toMatchObject({ reason: 'request.unsafe_text', field: 'filter.search' });
    const fallback = await server.graphql('mutation ($e: String = "x\\u0000") { requestPasswordReset(email: $e) }');
    expect(fallback.errors?.[0].extensions).toMatchObject({ reason: 'request.unsafe_text', field: 'email' });
  });

  it('is refused before any SQL statement runs', async () => {
    const statements = server.gateway.database.statements;
    const before = statements.total;
    const response = await server.graphql('mutation ($e: String!) { requestPasswordReset(email: $e) }', {
      e: 'victim\u0000@example.com',
    });
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(statements.total).toBe(before);
  });

  it('lets every other character through, astral and combining ones included', async () => {
    const name = 'Ünïcødé 𝔘 👩‍👩‍👧 team';
    const response = await server.graphql(
      'mutation ($i: CreateTeamInput!) { createTeam(input: $i) { name } }',
      { i: { orgId, name } },
      { token: owner.token },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.createTeam.name).toBe(name);
  });
});

describe('forged cursors and out-of-range numbers', () => {
  const USERS = `query ($o: ID!, $after: String, $first: Int, $order: UserOrder) {
    users(orgId: $o, after: $after, first: $first, orderBy: $order) { totalCount }
  }`;
  const MEMBERS = `query ($o: ID!, $after: String, $order: UserOrder) {
    org(id: $o) { members(after: $after, orderBy: $order) { totalCount } }
  }`;
  const AUDIT = 'query ($o: ID, $after: String) { auditLogs(orgId: $o, after: $after) { totalCount } }';

  it.each(['CREATED_AT', 'LAST_LOGIN_AT'])('refuse a %s cursor whose sort value is not a date', async (field) => {
    for (const value of ['not a date', '2024-02-30 10:00:00+00', '12', null, 'a\u0000b']) {
      for (const query of [USERS, MEMBERS]) {
        const response = await server.graphql(
          query,
          { o: orgId, after: forged(`members:${field}:DESC`, value), order: { field, direction: 'DESC' } },
          { token: owner.token },
        );
        expect(response.errors?.[0].extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          reason: 'request.invalid_cursor',
          field: 'after',
        });
      }
    }
  });

  it('accept a date cursor written as PostgreSQL writes it, and any text for text orders', async () => {
    for (const [field, value] of [
      ['CREATED_AT', '2026-01-02 03:04:05.123456+00'],
      ['LAST_LOGIN_AT', '-infinity'],
      ['EMAIL', "' OR 1=1 --"],
    ]) {
      const response = await server.graphql(
        USERS,
        { o: orgId, after: forged(`members:${field}:ASC`, value), order: { field, direction: 'ASC' } },
        { token: owner.token },
      );
      expect(response.errors).toBeUndefined();
    }
  });

  it('issue opaque cursors, refused by a list of another kind', async () => {
    const audit = await server.graphql(
      'query ($o: ID) { auditLogs(orgId: $o, first: 1) { pageInfo { endCursor } } }',
      { o: orgId },
      { token: owner.token },
    );
    const auditCursor: string = audit.data.auditLogs.pageInfo.endCursor;
    // Nothing readable: no JSON, no sequence number counting every org's activity.
    expect(() => JSON.parse(Buffer.from(auditCursor, 'base64url').toString('utf8'))).toThrow();
    const usersCursor = await firstUsersCursor();
    for (const [query, after] of [
      [USERS, auditCursor],
      [AUDIT, usersCursor],
    ]) {
      const response = await server.graphql(query, { o: orgId, after }, { token: owner.token });
      expect(response.errors?.[0].extensions).toMatchObject({ reason: 'request.invalid_cursor', field: 'after' });
    }
    // A cursor of one order is no position in another.
    const byName = await server.graphql(
      USERS,
      { o: orgId, after: usersCursor, order: { field: 'NAME', direction: 'ASC' } },
      { token: owner.token },
    );
    expect(byName.errors?.[0].extensions).toMatchObject({ reason: 'request.invalid_cursor' });
  });

  async function firstUsersCursor(): Promise<string> {
    const response = await server.graphql(
      'query ($o: ID!) { users(orgId: $o, first: 1) { pageInfo { endCursor } } }',
      { o: orgId },
      { token: owner.token },
    );
    return response.data.users.pageInfo.endCursor;
  }

  it('refuse an audit cursor whose sequence is beyond a bigint', async () => {
    // An audit cursor's value is `<seq> <created_at>`: only the sequence is out of range here.
    const auditCursor = (seq: string) => forged('auditLogs', `${seq} 2026-01-02 03:04:05.123456+00`);
    for (const seq of ['9223372036854775808', '99999999999999999999', '-1', '1e3']) {
      const response = await server.graphql(AUDIT, { o: orgId, after: auditCursor(seq) }, { token: owner.token });
      expect(response.errors?.[0].extensions).toMatchObject({ reason: 'request.invalid_cursor', field: 'after' });
    }
    const largest = await server.graphql(
      AUDIT,
      { o: orgId, after: auditCursor('9223372036854775807') },
      { token: owner.token },
    );
    expect(largest.errors).toBeUndefined();
  });

  it('refuse page sizes out of range, naming `first`', async () => {
    for (const first of [0, -1, 101, 2_147_483_647]) {
      const response = await server.graphql(USERS, { o: orgId, first }, { token: owner.token });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
    // Beyond a 32-bit Int, GraphQL itself refuses the variable; the refusal still names the argument.
    const huge = await server.graphql(USERS, { o: orgId, first: 2 ** 31 }, { token: owner.token });
    expect(huge.status).toBe(400);
    expect(huge.errors?.[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'request.invalid_input',
      field: 'first',
    });
    const nested = await server.graphql(
      'query ($o: ID!, $n: Int) { users(orgId: $o, filter: { search: "a" }, first: $n) { totalCount } }',
      { o: orgId, n: 'ten' },
      { token: owner.token },
    );
    expect(nested.errors?.[0].extensions).toMatchObject({ reason: 'request.invalid_input', field: 'first' });
  });
});

describe('nested inputs', () => {
  it('are validated like top-level ones, naming the nested field', async () => {
    const role = await server.graphql(
      'mutation ($i: CreateRoleInput!) { createRole(input: $i) { id } }',
      { i: { orgId, name: 'Custom', permissions: ['members:read'] } },
      { token: owner.token },
    );
    const roleId = role.data.createRole.id;
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [
        'mutation ($id: ID!, $i: UpdateRoleInput!) { updateRole(id: $id, input: $i) { id } }',
        { id: roleId, i: { name: 'x'.repeat(101) } },
        'input.name',
      ],
      [
        'mutation ($id: ID!, $i: UpdateRoleInput!) { updateRole(id: $id, input: $i) { id } }',
        { id: roleId, i: { permissions: ['everything:forever'] } },
        'input.permissions',
      ],
      [
        'mutation ($id: ID!, $i: UpdateOrgInput!) { updateOrg(id: $id, input: $i) { id } }',
        { id: orgId, i: { name: '   ' } },
        'input.name',
      ],
      [
        'query ($o: ID!, $f: UserFilter) { users(orgId: $o, filter: $f) { totalCount } }',
        { o: orgId, f: { search: 's'.repeat(201) } },
        'filter.search',
      ],
    ];
    for (const [query, variables, field] of cases) {
      const response = await server.graphql(query, variables, { token: owner.token });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });
});

describe('ids of the wrong shape', () => {
  /** What a caller sees for an id: the data, and each error's path and reason. */
  async function answer(query: string, id: string) {
    const response = await server.graphql(query, { id }, { token: owner.token });
    return {
      data: response.data,
      errors: response.errors?.map((error) => [error.path?.join('.'), error.extensions?.reason]),
    };
  }

  it('are answered exactly like unknown ids and ids of another org', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const [{ id: otherOrgTeam }] = await server.sql<{ id: string }>(
      `INSERT INTO teams (org_id, name, slug) SELECT id, 'Elsewhere', 'elsewhere' FROM orgs WHERE name = 'Acme' RETURNING id`,
    );
    const queries = [
      'query ($id: ID!) { user(id: $id) { id } }',
      'query ($id: ID!) { node(id: $id) { id } }',
      'query ($id: ID!) { org(id: $id) { id } }',
      'query ($id: ID!) { checkAccess(resource: $id, level: READ, principalId: $id) { allowed } }',
      'mutation ($id: ID!) { updateTeam(id: $id, input: { name: "X" }) { id } }',
      'mutation ($id: ID!) { addTeamMembers(teamId: $id, userIds: [$id]) { id } }',
      'mutation ($id: ID!) { revokeKey(id: $id) { id } }',
    ];
    for (const query of queries) {
      const expected = await answer(query, unknown);
      expect(expected.errors?.flat()).not.toContain('internal.unexpected');
      expect(await answer(query, otherOrgTeam)).toEqual(expected);
      for (const malformed of ['nope', '', "' OR 1=1 --", '00000000-0000-0000-0000-00000000000g']) {
        expect(await answer(query, malformed)).toEqual(expected);
      }
    }
  });
});

describe('the users role filter', () => {
  it('takes a role key or a role id', async () => {
    const editor = await createUser(server, 'filtered.editor@example.com');
    await addMember(server, orgId, editor, 'editor');
    const [{ id: editorRole }] = await server.sql(`SELECT id FROM roles WHERE org_id = $1 AND key = 'editor'`, [orgId]);
    const FILTERED = `query ($o: ID!, $role: String) {
      users(orgId: $o, filter: { role: $role }) { edges { node { email } } }
    }`;
    for (const role of ['editor', editorRole]) {
      const response = await server.graphql(FILTERED, { o: orgId, role }, { token: owner.token });
      expect(response.errors).toBeUndefined();
      expect(response.data.users.edges).toEqual([{ node: { email: 'filtered.editor@example.com' } }]);
    }
    const unknown = await server.graphql(
      FILTERED,
      { o: orgId, role: '00000000-0000-4000-8000-000000000000' },
      { token: owner.token },
    );
    expect(unknown.data.users.edges).toEqual([]);
  });
});

describe('malformed requests', () => {
  const persisted = (value: unknown, query: string | null = '{ __typename }') => ({
    ...(query === null ? {} : { query }),
    extensions: { persistedQuery: value },
  });
  // Written out: JSON.stringify itself cannot go that deep.
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const EMAIL_QUERY = 'query ($e: String!) { userByEmail(email: $e) { id } }';

  /** [what is sent, the body (a string is sent as it is), the HTTP status, the reason] */
  const cases: Array<[string, unknown, number, string]> = [
    // Automatic persisted queries: Apollo's own codes and statuses, as its clients expect.
    [
      'an unknown persisted query hash',
      persisted({ version: 1, sha256Hash: 'abc' }, null),
      200,
      'PERSISTED_QUERY_NOT_FOUND',
    ],
    ['a hash that does not match the query', persisted({ version: 1, sha256Hash: 'abc' }), 400, 'BAD_REQUEST'],
    ['a persisted query of another version', persisted({ version: 2, sha256Hash: 'abc' }), 400, 'BAD_REQUEST'],
    ['a persisted query that is not an object', persisted('x'), 400, 'BAD_REQUEST'],
    ['a subscription', { query: 'subscription { x }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    [
      'a subscription beside a query',
      { query: 'query Q { __typename } subscription S { __typename }', operationName: 'Q' },
      400,
      'GRAPHQL_VALIDATION_FAILED',
    ],
    [
      'an unknown operation name',
      { query: 'query A { __typename }', operationName: 'B' },
      400,
      'OPERATION_RESOLUTION_FAILURE',
    ],
    [
      'two operations and no name',
      { query: 'query A { __typename } query B { __typename }' },
      400,
      'OPERATION_RESOLUTION_FAILURE',
    ],
    ['two anonymous operations', { query: '{ __typename } { __typename }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['variables as a string', { query: '{ __typename }', variables: 'x' }, 400, 'BAD_REQUEST'],
    ['variables as a list', { query: '{ __typename }', variables: [1] }, 400, 'BAD_REQUEST'],
    ['a query that is a number', { query: 5 }, 400, 'BAD_REQUEST'],
    ['an empty query', { query: '' }, 400, 'BAD_REQUEST'],
    ['extensions as a string', { query: '{ __typename }', extensions: 'x' }, 400, 'BAD_REQUEST'],
    ['an operation name that is a number', { query: '{ __typename }', operationName: 5 }, 400, 'BAD_REQUEST'],
    ['a batch', [{ query: '{ __typename }' }], 400, 'BAD_REQUEST'],
    ['a body that is not an object', '"x"', 400, 'BAD_REQUEST'],
    ['a type definition', { query: 'type A { a: Int }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    [
      'a variable nested deeper than the call stack',
      `{"query":${JSON.stringify(EMAIL_QUERY)},"variables":{"e":${nested(100_000)}}}`,
      400,
      'request.invalid_input',
    ],
    [
      'a selection nested deeper than the call stack',
      { query: `${'{ a: __typename '.repeat(20_000)}${'}'.repeat(20_000)}` },
      400,
      'GRAPHQL_PARSE_FAILED',
    ],
  ];

  /** Apollo's codes pass through unchanged; the catalogue's refusals are BAD_USER_INPUT with their reason. */
  it.each(cases)("answers %s with Apollo's code or the catalogue's", async (_name, body, status, reason) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const { errors } = (await response.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
    expect(response.status).toBe(status);
    const expected = reason.includes('.') ? { code: 'BAD_USER_INPUT', reason } : { code: reason };
    expect(errors[0].extensions).toMatchObject(expected);
    expect(errors.every((error) => error.extensions.code === expected.code)).toBe(true);
  });

  it("answers an unknown persisted query or a subscription sent with GET with Apollo's code", async () => {
    const extensions = encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: 'abc' } }));
    const expected: Record<string, string> = {
      [`extensions=${extensions}`]: 'PERSISTED_QUERY_NOT_FOUND',
      'query=subscription%7Bx%7D': 'GRAPHQL_VALIDATION_FAILED',
    };
    for (const [search, code] of Object.entries(expected)) {
      const response = await fetch(`${server.url}/graphql?${search}`, {
        headers: { 'apollo-require-preflight': 'true' },
      });
      const { errors } = (await response.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
      expect(errors[0].extensions.code).toBe(code);
    }
  });
});

describe('automatic persisted queries', () => {
  it('asks for the query of an unknown hash once, then runs it by hash alone, still checked', async () => {
    const query = '{ me { id } }';
    const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
    const send = (body: Record<string, unknown>) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
        body: JSON.stringify({ ...body, extensions: { persistedQuery } }),
      }).then((response) => response.json() as Promise<{ data?: unknown; errors?: Array<{ extensions: object }> }>);

    expect((await send({})).errors?.[0].extensions).toEqual({ code: 'PERSISTED_QUERY_NOT_FOUND' });
    expect((await send({ query })).data).toEqual({ me: { id: owner.id } });
    expect((await send({})).data).toEqual({ me: { id: owner.id } });

    // A remembered query is still authorised per request: without a token it is refused.
    const anonymous = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ extensions: { persistedQuery } }),
    }).then((response) => response.json() as Promise<{ errors?: Array<{ extensions: { code: string } }> }>);
    expect(anonymous.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
