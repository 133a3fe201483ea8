import {
  createOrgAs,
  createUser,
  MEMBER_PASSWORD,
  person,
  roleId,
  uniqueEmail,
  type Person,
} from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let owner: Person;
let orgId: string;

const CREATE = `mutation ($input: CreateResourceInput!) { createResource(input: $input) { id name environment category customerIds } }`;
const GRANT = `mutation ($r: ID!, $p: ID!, $level: AccessLevel!) { grantAccess(resourceId: $r, principalId: $p, level: $level) { id level user { id } } }`;
const CHECK = `query ($resource: String!, $level: AccessLevel!, $principalId: ID, $orgId: ID) {
  checkAccess(resource: $resource, level: $level, principalId: $principalId, orgId: $orgId) { allowed reason }
}`;

async function resource(name: string, customerIds: string[] = []): Promise<string> {
  const response = await server.graphql(
    CREATE,
    { input: { orgId, name, environment: 'prod', category: 'api', customerIds } },
    { token: owner.token },
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.createResource.id;
}

const check = (token: string, vars: Record<string, unknown>) => server.graphql(CHECK, { orgId, ...vars }, { token });

/** A CUSTOMER member tied to `customerId`, signed in. */
async function customer(customerId: string): Promise<Person> {
  const email = uniqueEmail('customer');
  const id = await createUser(server, email, { kind: 'CUSTOMER' });
  await server.sql('UPDATE users SET customer_id = $1 WHERE id = $2', [customerId, id]);
  await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [
    orgId,
    id,
    await roleId(server, orgId, 'viewer'),
  ]);
  const { accessToken } = await server.login(email, MEMBER_PASSWORD, orgId);
  return { id, email, token: accessToken };
}

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'resowner');
  orgId = await createOrgAs(server, owner.token, 'Resource Org');
});

afterAll(async () => {
  await server.close();
});

describe('resources', () => {
  it('are created, renamed and deleted by resources:write holders, with unique names', async () => {
    const id = await resource('billing-api');
    const duplicate = await server.graphql(CREATE, { input: { orgId, name: 'billing-api' } }, { token: owner.token });
    expect(duplicate.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
    const editor = await person(server, 'reseditor', { orgId, role: 'editor' });
    const renamed = await server.graphql(
      'mutation ($id: ID!) { updateResource(id: $id, input: { name: "billing-v2" }) { name } }',
      { id },
      { token: editor.token },
    );
    expect(renamed.data.updateResource.name).toBe('billing-v2');
    const viewer = await person(server, 'resviewer', { orgId, role: 'viewer' });
    expect(
      errorCode(
        await server.graphql('mutation ($id: ID!) { deleteResource(id: $id) }', { id }, { token: viewer.token }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      (await server.graphql('mutation ($id: ID!) { deleteResource(id: $id) }', { id }, { token: editor.token })).data
        .deleteResource,
    ).toBe(true);
    const audit = await server.sql(`SELECT action FROM audit_logs WHERE target_id = $1 ORDER BY seq`, [id]);
    expect(audit.map((row) => row.action)).toEqual(['resource.created', 'resource.updated', 'resource.deleted']);
  });
});

describe('checkAccess', () => {
  it('names the path: direct grant, group grant, or why not; never the org role', async () => {
    const api = await resource('orders-api');
    const member = await person(server, 'granted', { orgId, role: 'viewer' });
    const outsider = await person(server, 'nogrant');
    await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [
      orgId,
      outsider.id,
      await server
        .sql(
          `INSERT INTO roles (org_id, key, name, permissions) VALUES ($1, 'bare', 'Bare', '{org:read}') RETURNING id`,
          [orgId],
        )
        .then((rows) => rows[0].id),
    ]);
    const bare = await server.login(outsider.email, MEMBER_PASSWORD, orgId);

    expect((await check(member.token, { resource: 'orders-api', level: 'READ' })).data.checkAccess).toEqual({
      allowed: false,
      reason: 'no grant or group grant gives READ',
    });
    expect((await check(member.token, { resource: 'orders-api', level: 'WRITE' })).data.checkAccess.allowed).toBe(
      false,
    );

    await server.graphql(GRANT, { r: api, p: member.id, level: 'WRITE' }, { token: owner.token });
    expect((await check(member.token, { resource: api, level: 'WRITE' })).data.checkAccess).toEqual({
      allowed: true,
      reason: 'direct grant (WRITE)',
    });
    expect((await check(bare.accessToken, { resource: 'orders-api', level: 'READ' })).data.checkAccess).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/no grant/),
    });

    const [group] = await server.sql(`INSERT INTO groups (org_id, name) VALUES ($1, 'Readers') RETURNING id`, [orgId]);
    await server.sql('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [group.id, outsider.id]);
    await server.graphql(GRANT, { r: api, p: group.id, level: 'READ' }, { token: owner.token });
    expect((await check(bare.accessToken, { resource: 'orders-api', level: 'READ' })).data.checkAccess).toEqual({
      allowed: true,
      reason: `group grant (READ) via group ${group.id}`,
    });

    // Checking someone else needs resources:read; the bare role has none.
    expect(
      (await check(owner.token, { resource: 'orders-api', level: 'ADMIN', principalId: member.id })).data.checkAccess
        .allowed,
    ).toBe(false);
    expect(
      errorCode(await check(bare.accessToken, { resource: 'orders-api', level: 'READ', principalId: member.id })),
    ).toBe('FORBIDDEN');
    expect((await check(owner.token, { resource: 'no-such-thing', level: 'READ' })).data.checkAccess).toEqual({
      allowed: false,
      reason: 'no such resource in this org',
    });
  });

  it('gives customers READ on every resource listing their customerId, and nothing else', async () => {
    const [a, b] = [await resource('portal-a', ['cust-7']), await resource('portal-b', ['cust-7', 'cust-9'])];
    await resource('internal-c', ['cust-9']);
    const client = await customer('cust-7');
    for (const name of ['portal-a', 'portal-b']) {
      expect((await check(client.token, { resource: name, level: 'READ' })).data.checkAccess).toEqual({
        allowed: true,
        reason: 'customerId match (cust-7)',
      });
    }
    expect((await check(client.token, { resource: 'internal-c', level: 'READ' })).data.checkAccess.allowed).toBe(false);
    expect((await check(client.token, { resource: 'portal-a', level: 'WRITE' })).data.checkAccess.allowed).toBe(false);

    // Customers see only their own profile and the resources they may use.
    const listed = await server.graphql(
      'query ($orgId: ID!) { org(id: $orgId) { resources { totalCount edges { node { id } } } } }',
      { orgId },
      { token: client.token },
    );
    expect(listed.data.org.resources.edges.map((edge: { node: { id: string } }) => edge.node.id).sort()).toEqual(
      [a, b].sort(),
    );
    expect(listed.data.org.resources.totalCount).toBe(2);
    expect(
      errorCode(
        await server.graphql(
          'query ($orgId: ID!) { users(orgId: $orgId) { totalCount } }',
          { orgId },
          { token: client.token },
        ),
      ),
    ).toBe('FORBIDDEN');

    const counts = await server.graphql(
      'query ($id: ID!) { node(id: $id) { ... on Resource { accessCounts { customers users groups } customers { id } } } }',
      { id: b },
      { token: owner.token },
    );
    expect(counts.data.node.accessCounts.customers).toBe(1);
    expect(counts.data.node.customers).toEqual([{ id: client.id }]);
  });

  it('revokeAllAccess removes every grant and customer path, revokeAccess one', async () => {
    const api = await resource('shared-api', ['cust-1']);
    const client = await customer('cust-1');
    const member = await person(server, 'bare2', { orgId, role: 'viewer' });
    const grant = await server.graphql(GRANT, { r: api, p: member.id, level: 'ADMIN' }, { token: owner.token });
    const [group] = await server.sql(`INSERT INTO groups (org_id, name) VALUES ($1, 'All hands') RETURNING id`, [
      orgId,
    ]);
    await server.graphql(GRANT, { r: api, p: group.id, level: 'READ' }, { token: owner.token });
    expect((await check(member.token, { resource: 'shared-api', level: 'ADMIN' })).data.checkAccess.allowed).toBe(true);

    const single = await server.graphql(
      'mutation ($id: ID!) { revokeAccess(grantId: $id) }',
      { id: grant.data.grantAccess.id },
      { token: owner.token },
    );
    expect(single.data.revokeAccess).toBe(true);
    expect((await check(member.token, { resource: 'shared-api', level: 'ADMIN' })).data.checkAccess.allowed).toBe(
      false,
    );

    const all = await server.graphql(
      'mutation ($id: ID!) { revokeAllAccess(resourceId: $id) }',
      { id: api },
      { token: owner.token },
    );
    expect(all.data.revokeAllAccess).toBe(1);
    expect((await check(client.token, { resource: 'shared-api', level: 'READ' })).data.checkAccess.allowed).toBe(false);
    expect(await server.sql('SELECT * FROM access_grants WHERE resource_id = $1', [api])).toEqual([]);
  });

  it('serves a batch of checks with a constant number of SQL statements', async () => {
    for (let i = 0; i < 12; i++) await resource(`batch-${i}`);
    const member = await person(server, 'batcher', { orgId, role: 'viewer' });
    const query = (n: number) =>
      `query ($orgId: ID!) { ${Array.from({ length: n }, (_, i) => `c${i}: checkAccess(resource: "batch-${i}", level: READ, orgId: $orgId) { allowed }`).join(' ')} }`;
    const count = async (n: number) => {
      const before = server.gateway.database.statements.total;
      const response = await server.graphql(query(n), { orgId }, { token: member.token });
      expect(response.errors).toBeUndefined();
      return server.gateway.database.statements.total - before;
    };
    expect(await count(12)).toBe(await count(2));
  });

  it('answers a principal outside the org exactly like an unknown id, whatever its account state', async () => {
    await resource('probed');
    const viewer = await person(server, 'prober', { orgId, role: 'viewer' });
    const elsewhere = await person(server, 'elsewhere');
    await createOrgAs(server, elsewhere.token, 'Elsewhere Org');
    const lockedElsewhere = await person(server, 'lockedelsewhere');
    await createOrgAs(server, lockedElsewhere.token, 'Locked Elsewhere Org');
    await server.sql(`UPDATE users SET locked_at = now(), status = 'DEACTIVATED' WHERE id = $1`, [lockedElsewhere.id]);
    const nowhere = await person(server, 'nowhere');
    const UNKNOWN = { allowed: false, reason: 'unknown principal' };
    const checkOf = async (principalId: string) => {
      const before = server.gateway.database.statements.total;
      const response = await check(viewer.token, { resource: 'probed', level: 'READ', principalId });
      expect(response.errors).toBeUndefined();
      return { answer: response.data.checkAccess, statements: server.gateway.database.statements.total - before };
    };

    const unknown = await checkOf('00000000-0000-4000-8000-000000000000');
    expect(unknown.answer).toEqual(UNKNOWN);
    for (const outside of [elsewhere, lockedElsewhere, nowhere]) {
      for (const id of [outside.id, outside.id.toUpperCase()]) expect(await checkOf(id)).toEqual(unknown);
    }
    expect((await checkOf('not-an-id')).answer).toEqual(UNKNOWN);
  });

  it('tells members of the org why not, and reads ids in either case', async () => {
    const api = await resource('cased');
    const viewer = await person(server, 'caser', { orgId, role: 'viewer' });
    const locked = await person(server, 'lockedmember', { orgId, role: 'viewer' });
    await server.sql('UPDATE users SET locked_at = now() WHERE id = $1', [locked.id]);
    const deactivated = await person(server, 'deactivatedmember', { orgId, role: 'viewer' });
    await server.sql(`UPDATE memberships SET status = 'DEACTIVATED' WHERE user_id = $1`, [deactivated.id]);
    const answer = async (vars: Record<string, unknown>) =>
      (await check(viewer.token, { resource: 'cased', level: 'READ', ...vars })).data.checkAccess;

    await server.graphql(GRANT, { r: api, p: viewer.id, level: 'READ' }, { token: owner.token });
    const own = { allowed: true, reason: 'direct grant (READ)' };
    expect(await answer({ principalId: viewer.id.toUpperCase() })).toEqual(own);
    expect(await answer({ resource: api.toUpperCase(), orgId: orgId.toUpperCase() })).toEqual(own);
    expect(await answer({ principalId: locked.id.toUpperCase() })).toEqual({
      allowed: false,
      reason: 'the account is locked or inactive',
    });
    expect(await answer({ principalId: deactivated.id })).toEqual({
      allowed: false,
      reason: 'not an active member of the org',
    });
  });

  it('refuses grants to principals outside the org', async () => {
    const api = await resource('guarded');
    const stranger = await person(server, 'stranger3');
    const response = await server.graphql(GRANT, { r: api, p: stranger.id, level: 'READ' }, { token: owner.token });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'principalId' });
    const other = await person(server, 'otherorg');
    expect(errorCode(await server.graphql(GRANT, { r: api, p: other.id, level: 'READ' }, { token: other.token }))).toBe(
      'NOT_FOUND',
    );
  });
});

describe('GET /auth/check', () => {
  const forward = (token: string | null, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/auth/check`, {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    });

  it('answers 200 with identity headers, 401 without credentials, 403 without access', async () => {
    const api = await resource('gateway-api');
    const member = await person(server, 'forwarded', { orgId, role: 'viewer' });
    const { accessToken } = await server.login(member.email, MEMBER_PASSWORD, orgId);
    // The role alone gives no use of the resource.
    expect((await forward(accessToken, { 'x-resource': 'gateway-api' })).status).toBe(403);
    await server.graphql(GRANT, { r: api, p: member.id, level: 'READ' }, { token: owner.token });
    const ok = await forward(accessToken);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-user-id')).toBe(member.id);
    expect(ok.headers.get('x-org-id')).toBe(orgId);
    expect(ok.headers.get('x-role')).toBe('viewer');
    expect((await forward(accessToken, { 'x-resource': 'gateway-api' })).status).toBe(200);
    expect((await forward(accessToken, { 'x-resource': 'gateway-api', 'x-access-level': 'WRITE' })).status).toBe(403);
    expect((await forward(accessToken, { 'x-resource': 'gateway-api', 'x-access-level': 'SUPER' })).status).toBe(400);
    expect((await forward(null)).status).toBe(401);
    expect((await forward('garbage')).status).toBe(401);
  });
});
