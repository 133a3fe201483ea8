import { randomUUID } from 'node:crypto';
import { createOrgAs, person, roleId, uniqueEmail, type Person } from '../support/fixtures';
import { errorCode, type GraphQLResponse } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/** A refused mutation leaves one `authz.denied` record; other failures leave none. */

const CREATE_ROLE = `mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }`;
const INVITE = `mutation ($input: InviteInput!) { invite(input: $input) { id } }`;

let server: TestGateway;
let owner: Person;
let viewer: Person;
let orgId: string;

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'owner');
  orgId = await createOrgAs(server, owner.token, 'Denials');
  viewer = await person(server, 'viewer', { orgId, role: 'viewer' });
});

afterAll(async () => {
  await server.close();
});

/** Every audit record written while serving the response's request. */
function recordsOf(response: GraphQLResponse) {
  return server.sql(
    `SELECT org_id, actor_id, actor_kind, action, target_type, target_id, changes
       FROM audit_logs WHERE request_id = $1`,
    [response.headers.get('x-request-id')],
  );
}

test('a member refused a mutation in their org is recorded against that org', async () => {
  const response = await server.graphql(
    CREATE_ROLE,
    { input: { orgId, name: 'Sneaky', permissions: ['org:read'] } },
    { token: viewer.token },
  );
  expect(errorCode(response)).toBe('FORBIDDEN');
  expect(await recordsOf(response)).toEqual([
    {
      org_id: orgId,
      actor_id: viewer.id,
      actor_kind: 'HUMAN',
      action: 'authz.denied',
      target_type: 'Mutation',
      target_id: 'createRole',
      changes: { reason: 'auth.forbidden', code: 'FORBIDDEN' },
    },
  ]);
});

test('an anonymous caller refused a mutation is recorded as ANONYMOUS', async () => {
  const response = await server.graphql(INVITE, {
    input: { orgId, email: uniqueEmail('guest'), roleId: await roleId(server, orgId, 'viewer') },
  });
  expect(errorCode(response)).toBe('UNAUTHENTICATED');
  expect(await recordsOf(response)).toEqual([
    {
      org_id: orgId,
      actor_id: null,
      actor_kind: 'ANONYMOUS',
      action: 'authz.denied',
      target_type: 'Mutation',
      target_id: 'invite',
      changes: { reason: 'auth.unauthenticated', code: 'UNAUTHENTICATED' },
    },
  ]);
});

test('a refusal naming an org that does not exist joins no org chain', async () => {
  const response = await server.graphql(
    CREATE_ROLE,
    { input: { orgId: randomUUID(), name: 'Nowhere', permissions: ['org:read'] } },
    { token: viewer.token },
  );
  expect(errorCode(response)).toBe('NOT_FOUND');
  expect(await recordsOf(response)).toEqual([
    expect.objectContaining({
      org_id: null,
      action: 'authz.denied',
      changes: { reason: 'org.not_found', code: 'NOT_FOUND' },
    }),
  ]);
});

test('the record of a refusal holds none of the arguments', async () => {
  const password = `hunter2-${randomUUID()}`;
  const response = await server.graphql(
    'mutation ($current: String!, $next: String!) { changePassword(currentPassword: $current, newPassword: $next) }',
    { current: password, next: `${password}-new` },
  );
  expect(errorCode(response)).toBe('UNAUTHENTICATED');
  expect(await recordsOf(response)).toEqual([
    expect.objectContaining({ action: 'authz.denied', target_id: 'changePassword' }),
  ]);
  const leaks = await server.sql(`SELECT id FROM audit_logs WHERE audit_logs::text LIKE '%' || $1 || '%'`, [password]);
  expect(leaks).toEqual([]);
});

test('invalid input is not a refusal', async () => {
  const response = await server.graphql(
    'mutation ($input: CreateTeamInput!) { createTeam(input: $input) { id } }',
    { input: { orgId, name: 'x'.repeat(1000) } },
    { token: owner.token },
  );
  expect(errorCode(response)).toBe('BAD_USER_INPUT');
  expect(await recordsOf(response)).toEqual([]);
});

test("a resolver's own FORBIDDEN, after the rules allowed the call, is not a refusal", async () => {
  const response = await server.graphql(
    'mutation ($id: ID!) { deleteRole(id: $id) }',
    { id: await roleId(server, orgId, 'viewer') },
    { token: owner.token },
  );
  expect(response.errors?.[0]?.extensions?.reason).toBe('role.built_in');
  expect(await recordsOf(response)).toEqual([]);
});
