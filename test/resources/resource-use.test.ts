import {
  createOrgAs,
  createUser,
  MEMBER_PASSWORD,
  person,
  roleId,
  uniqueEmail,
  type Person,
} from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * Use of a resource comes only from grants (direct or through a group), a listed customerId (READ)
 * or super-user power; a role governs the catalogue, never use. Checked through checkAccess and
 * /auth/check for members of every built-in role, a customer and a service account, before and
 * after each grant change.
 */
let server: TestGateway;
let owner: Person;
let superToken: string;
let orgId: string;
let resourceId: string;
const members: Record<string, Person> = {};
let customerToken: string;
let machine: { id: string; token: string };

const LEVELS = ['READ', 'WRITE', 'ADMIN'] as const;

async function gql(query: string, variables: Record<string, unknown>, token = owner.token) {
  const response = await server.graphql(query, variables, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

/** The highest level checkAccess allows the token's principal, or null. */
async function useLevel(token: string): Promise<string | null> {
  let highest: string | null = null;
  for (const level of LEVELS) {
    const { checkAccess } = await gql(
      'query ($r: String!, $l: AccessLevel!, $o: ID) { checkAccess(resource: $r, level: $l, orgId: $o) { allowed } }',
      { r: resourceId, l: level, o: orgId },
      token,
    );
    if (checkAccess.allowed) highest = level;
  }
  return highest;
}

async function everyone(): Promise<Record<string, string | null>> {
  const principals: Record<string, string> = {
    ...Object.fromEntries(Object.entries(members).map(([role, member]) => [role, member.token])),
    owner: owner.token,
    customer: customerToken,
    serviceAccount: machine.token,
    superUser: superToken,
  };
  const levels: Record<string, string | null> = {};
  for (const [name, token] of Object.entries(principals)) levels[name] = await useLevel(token);
  return levels;
}

async function forwardStatus(token: string): Promise<number> {
  const response = await fetch(`${server.url}/auth/check`, {
    headers: { authorization: `Bearer ${token}`, 'x-resource': 'orders-api' },
  });
  return response.status;
}

const grant = async (principalId: string, level: string) =>
  (
    await gql(
      'mutation ($r: ID!, $p: ID!, $l: AccessLevel!) { grantAccess(resourceId: $r, principalId: $p, level: $l) { id } }',
      { r: resourceId, p: principalId, l: level },
    )
  ).grantAccess.id as string;

beforeAll(async () => {
  server = await startTestGateway();
  superToken = (await server.login()).accessToken;
  owner = await person(server, 'useowner');
  orgId = await createOrgAs(server, owner.token, 'Use Org');
  for (const role of ['admin', 'editor', 'viewer']) {
    const member = await person(server, `use${role}`, { orgId, role });
    // Signed in to the org, so /auth/check knows which org the token speaks for.
    members[role] = { ...member, token: (await server.login(member.email, MEMBER_PASSWORD, orgId)).accessToken };
  }
  owner = { ...owner, token: (await server.login(owner.email, MEMBER_PASSWORD, orgId)).accessToken };

  const customerEmail = uniqueEmail('usecustomer');
  const customerId = await createUser(server, customerEmail, { kind: 'CUSTOMER' });
  await server.sql(`UPDATE users SET customer_id = 'acme' WHERE id = $1`, [customerId]);
  await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [
    orgId,
    customerId,
    await roleId(server, orgId, 'viewer'),
  ]);
  customerToken = (await server.login(customerEmail, MEMBER_PASSWORD, orgId)).accessToken;

  const account = await gql(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
    { input: { orgId, name: 'orders-bot', roleId: await roleId(server, orgId, 'admin') } },
  );
  const key = await gql('mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }', {
    input: { ownerId: account.createServiceAccount.id, name: 'bot key', scopes: ['resources:read', 'access:grant'] },
  });
  machine = { id: account.createServiceAccount.id, token: key.createKey.token };

  resourceId = (
    await gql(
      'mutation ($orgId: ID!) { createResource(input: { orgId: $orgId, name: "orders-api", customerIds: ["acme"] }) { id } }',
      { orgId },
    )
  ).createResource.id;
});

afterAll(async () => {
  await server.close();
});

it('gives no member use through a role: only the customerId match and super-user power before any grant', async () => {
  expect(await everyone()).toEqual({
    admin: null,
    editor: null,
    viewer: null,
    owner: null,
    customer: 'READ',
    serviceAccount: null,
    superUser: 'ADMIN',
  });
  for (const member of [owner, members.admin, members.viewer]) expect(await forwardStatus(member.token)).toBe(403);
  expect(await forwardStatus(machine.token)).toBe(403);
  expect(await forwardStatus(customerToken)).toBe(200);
});

it('follows each grant and each revocation, and revokeAllAccess leaves only super users', async () => {
  const { createGroup } = await gql('mutation ($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
    input: { orgId, name: 'Order readers' },
  });
  await gql('mutation ($g: ID!, $p: [ID!]!) { addGroupMembers(groupId: $g, principalIds: $p) { id } }', {
    g: createGroup.id,
    p: [members.viewer.id, machine.id],
  });
  const groupGrant = await grant(createGroup.id, 'WRITE');
  await grant(members.editor.id, 'ADMIN');
  expect(await everyone()).toMatchObject({
    admin: null,
    editor: 'ADMIN',
    viewer: 'WRITE',
    owner: null,
    customer: 'READ',
    serviceAccount: 'WRITE',
  });
  expect(await forwardStatus(machine.token)).toBe(200);
  expect(await forwardStatus(members.viewer.token)).toBe(200);

  expect((await gql('mutation ($id: ID!) { revokeAccess(grantId: $id) }', { id: groupGrant })).revokeAccess).toBe(true);
  expect(await everyone()).toMatchObject({ viewer: null, serviceAccount: null, editor: 'ADMIN', customer: 'READ' });
  expect(await forwardStatus(machine.token)).toBe(403);

  await grant(members.viewer.id, 'READ');
  const { revokeAllAccess } = await gql('mutation ($r: ID!) { revokeAllAccess(resourceId: $r) }', { r: resourceId });
  expect(revokeAllAccess).toBe(2);
  expect(await everyone()).toEqual({
    admin: null,
    editor: null,
    viewer: null,
    owner: null,
    customer: null,
    serviceAccount: null,
    superUser: 'ADMIN',
  });
  for (const token of [owner.token, members.editor.token, members.viewer.token, customerToken, machine.token]) {
    expect(await forwardStatus(token)).toBe(403);
  }
});

it('keeps the catalogue with the role: resources:read still sees the resource it may not use', async () => {
  const { node } = await gql(
    'query ($id: ID!) { node(id: $id) { ... on Resource { name } } }',
    { id: resourceId },
    members.viewer.token,
  );
  expect(node).toEqual({ name: 'orders-api' });
  const reason = await gql(
    'query ($r: String!, $o: ID) { checkAccess(resource: $r, level: READ, orgId: $o) { allowed reason } }',
    { r: 'orders-api', o: orgId },
    members.viewer.token,
  );
  expect(reason.checkAccess).toEqual({ allowed: false, reason: 'no grant or group grant gives READ' });
});

it('lists the matching customers of every resource of a page in a constant number of statements', async () => {
  const statementsFor = async (count: number) => {
    const { createOrg } = await gql('mutation ($input: CreateOrgInput!) { createOrg(input: $input) { id } }', {
      input: { name: `Customers ${count}` },
    });
    const customer = await createUser(server, uniqueEmail('listed'), { kind: 'CUSTOMER' });
    await server.sql(`UPDATE users SET customer_id = 'globex' WHERE id = $1`, [customer]);
    await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [
      createOrg.id,
      customer,
      await roleId(server, createOrg.id, 'viewer'),
    ]);
    for (let i = 0; i < count; i++) {
      await gql('mutation ($input: CreateResourceInput!) { createResource(input: $input) { id } }', {
        input: { orgId: createOrg.id, name: `api-${i}`, customerIds: ['globex'] },
      });
    }
    const before = server.gateway.database.statements.total;
    const { org } = await gql(
      `query ($id: ID!) { org(id: $id) { resources(first: 50) { edges { node {
         customers { id } accessCounts { customers } } } } } }`,
      { id: createOrg.id },
    );
    const statements = server.gateway.database.statements.total - before;
    expect(org.resources.edges).toHaveLength(count);
    for (const { node } of org.resources.edges) {
      expect(node.customers).toEqual([{ id: customer }]);
      expect(node.accessCounts.customers).toBe(1);
    }
    return statements;
  };
  expect(await statementsFor(12)).toBe(await statementsFor(3));
});

it('takes a removed member’s own grants and keys with the membership: joining again restores no use', async () => {
  const leaver = await person(server, 'useleaver', { orgId, role: 'admin' });
  const signedIn = (await server.login(leaver.email, MEMBER_PASSWORD, orgId)).accessToken;
  await grant(leaver.id, 'WRITE');
  const { createKey } = await gql(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token apiKey { id } } }',
    { input: { ownerId: leaver.id, name: 'leaver key', scopes: ['org:read'] } },
    signedIn,
  );
  expect(await useLevel(signedIn)).toBe('WRITE');

  const removed = await gql('mutation ($o: ID!, $u: ID!) { removeMember(orgId: $o, userId: $u) }', {
    o: orgId,
    u: leaver.id,
  });
  expect(removed.removeMember).toBe(true);
  await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [
    orgId,
    leaver.id,
    await roleId(server, orgId, 'viewer'),
  ]);

  const rejoined = (await server.login(leaver.email, MEMBER_PASSWORD, orgId)).accessToken;
  expect(await useLevel(rejoined)).toBeNull();
  const [key] = await server.sql('SELECT status FROM api_keys WHERE id = $1', [createKey.apiKey.id]);
  expect(key.status).toBe('REVOKED');
  expect(await forwardStatus(createKey.token)).toBe(401);
  const [event] = await server.sql(
    `SELECT changes FROM audit_logs WHERE org_id = $1 AND action = 'member.removed' AND subject_user_id = $2`,
    [orgId, leaver.id],
  );
  expect(event.changes).toMatchObject({ grantsRemoved: 1, keysRevoked: 1 });
});
