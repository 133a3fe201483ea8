import { createOrgAs, createUser, MEMBER_PASSWORD, person, uniqueEmail, type Person } from '../support/fixtures';
import type { GraphQLResponse } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let orgId: string;
let owner: Person;
let admin: Person;
let editor: Person;
let viewer: Person;
/** Holds a custom role with only clients:read. */
let reader: Person;
/** Holds a custom role with clients:read, clients:write and members:read, nothing else. */
let registrar: Person;
/** Owner of another org only. */
let stranger: Person;
let strangerOrgId: string;
let clientId: string;

const CREATE = `mutation ($input: CreateOAuthClientInput!) {
  createOAuthClient(input: $input) { clientSecret client { id name scopes } }
}`;
const UPDATE =
  'mutation ($id: ID!, $input: UpdateOAuthClientInput!) { updateOAuthClient(id: $id, input: $input) { id } }';
const DELETE = 'mutation ($id: ID!) { deleteOAuthClient(id: $id) }';
const ROTATE = 'mutation ($id: ID!) { rotateOAuthClientSecret(id: $id) { clientSecret } }';
const LIST =
  'query ($orgId: ID!) { org(id: $orgId) { oauthClients(first: 50) { totalCount edges { node { id name } } } } }';
const CREATE_KEY = 'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }';

let counter = 0;
const input = (overrides: Record<string, unknown> = {}) => ({
  orgId,
  name: `Client ${++counter}`,
  type: 'CONFIDENTIAL',
  redirectUris: ['https://app.example.com/cb'],
  scopes: ['openid', 'members:read'],
  grantTypes: ['AUTHORIZATION_CODE'],
  ...overrides,
});

const create = (token: string, overrides: Record<string, unknown> = {}) =>
  server.graphql(CREATE, { input: input(overrides) }, { token });

const refusalOf = (response: GraphQLResponse) => response.errors?.[0]?.extensions;

async function newClientId(token = owner.token, overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await create(token, overrides);
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.createOAuthClient.client.id;
}

/** A member holding a custom role of exactly `permissions`. */
async function withCustomRole(name: string, permissions: string[]): Promise<Person> {
  const [role] = await server.sql(
    'INSERT INTO roles (org_id, key, name, permissions) VALUES ($1, $2, $3, $4) RETURNING id',
    [orgId, name, name, permissions],
  );
  const email = uniqueEmail(name);
  const id = await createUser(server, email);
  await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [orgId, id, role.id]);
  return { id, email, token: (await server.login(email, MEMBER_PASSWORD)).accessToken };
}

async function personalKey(of: Person, scopes: string[]): Promise<string> {
  const response = await server.graphql(
    CREATE_KEY,
    { input: { ownerId: of.id, orgId, name: `key ${++counter}`, scopes } },
    { token: of.token },
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.createKey.token;
}

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'olivia');
  orgId = await createOrgAs(server, owner.token, 'Registry Inc');
  admin = await person(server, 'adam', { orgId, role: 'admin' });
  editor = await person(server, 'edith', { orgId, role: 'editor' });
  viewer = await person(server, 'victor', { orgId, role: 'viewer' });
  reader = await withCustomRole('client-reader', ['clients:read']);
  registrar = await withCustomRole('registrar', ['clients:read', 'clients:write', 'members:read']);
  stranger = await person(server, 'stranger');
  strangerOrgId = await createOrgAs(server, stranger.token, 'Elsewhere');
  clientId = await newClientId();
});

afterAll(async () => {
  await server.close();
});

describe('built-in roles', () => {
  it('gives clients:read and clients:write to owner and admin only', async () => {
    const rows = await server.sql(
      `SELECT key, 'clients:read' = ANY(permissions) AS reads, 'clients:write' = ANY(permissions) AS writes
         FROM roles WHERE org_id = $1 AND built_in ORDER BY key`,
      [orgId],
    );
    expect(rows).toEqual([
      { key: 'admin', reads: true, writes: true },
      { key: 'editor', reads: false, writes: false },
      { key: 'owner', reads: true, writes: true },
      { key: 'viewer', reads: false, writes: false },
    ]);
  });

  it('lets owner and admin do everything', async () => {
    for (const caller of [owner, admin]) {
      const id = await newClientId(caller.token);
      const token = caller.token;
      expect((await server.graphql(UPDATE, { id, input: { name: `Renamed ${++counter}` } }, { token })).errors).toBe(
        undefined,
      );
      expect((await server.graphql(ROTATE, { id }, { token })).data.rotateOAuthClientSecret.clientSecret).toEqual(
        expect.any(String),
      );
      expect((await server.graphql(LIST, { orgId }, { token })).data.org.oauthClients.totalCount).toBeGreaterThan(0);
      expect((await server.graphql(DELETE, { id }, { token })).data.deleteOAuthClient).toBe(true);
    }
  });

  it.each([
    ['editor', () => editor],
    ['viewer', () => viewer],
  ])('refuses the %s everything, FORBIDDEN', async (_label, caller) => {
    const { token } = caller();
    expect(refusalOf(await create(token))?.code).toBe('FORBIDDEN');
    expect(refusalOf(await server.graphql(UPDATE, { id: clientId, input: { name: 'x' } }, { token }))?.code).toBe(
      'FORBIDDEN',
    );
    expect(refusalOf(await server.graphql(ROTATE, { id: clientId }, { token }))?.code).toBe('FORBIDDEN');
    expect(refusalOf(await server.graphql(DELETE, { id: clientId }, { token }))?.code).toBe('FORBIDDEN');
    expect(refusalOf(await server.graphql(LIST, { orgId }, { token }))?.code).toBe('FORBIDDEN');
    expect(await server.sql('SELECT 1 FROM oauth_clients WHERE id = $1', [clientId])).toHaveLength(1);
  });
});

describe('another org', () => {
  it('answers NOT_FOUND for its clients and its org, changing nothing', async () => {
    const token = stranger.token;
    for (const response of [
      await server.graphql(UPDATE, { id: clientId, input: { name: 'hijacked' } }, { token }),
      await server.graphql(ROTATE, { id: clientId }, { token }),
      await server.graphql(DELETE, { id: clientId }, { token }),
    ]) {
      expect(refusalOf(response)).toMatchObject({ code: 'NOT_FOUND', reason: 'oauth_client.not_found' });
    }
    expect(refusalOf(await create(token))?.code).toBe('NOT_FOUND');
    expect(refusalOf(await server.graphql(LIST, { orgId }, { token }))?.code).toBe('NOT_FOUND');
    const [row] = await server.sql('SELECT name FROM oauth_clients WHERE id = $1', [clientId]);
    expect(row.name).not.toBe('hijacked');
  });

  it('lists only its own clients to its owner', async () => {
    const own = await newClientId(stranger.token, { orgId: strangerOrgId });
    const listed = await server.graphql(LIST, { orgId: strangerOrgId }, { token: stranger.token });
    expect(listed.data.org.oauthClients.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([own]);
  });
});

describe('custom roles', () => {
  it('lets a role holding only clients:read list clients but not create or change them', async () => {
    const listed = await server.graphql(LIST, { orgId }, { token: reader.token });
    expect(listed.errors).toBeUndefined();
    expect(listed.data.org.oauthClients.edges.map((edge: { node: { id: string } }) => edge.node.id)).toContain(
      clientId,
    );
    expect(refusalOf(await create(reader.token, { scopes: ['openid'] }))?.code).toBe('FORBIDDEN');
    expect(refusalOf(await server.graphql(ROTATE, { id: clientId }, { token: reader.token }))?.code).toBe('FORBIDDEN');
  });

  it('refuses scopes the creator does not hold, and allows those it does', async () => {
    const escalated = await create(registrar.token, { scopes: ['openid', 'members:read', 'apikeys:write'] });
    expect(refusalOf(escalated)).toMatchObject({ code: 'FORBIDDEN', reason: 'role.escalation' });
    expect(refusalOf(await create(admin.token, { scopes: ['org:delete'] }))).toMatchObject({
      reason: 'role.escalation',
    });
    const allowed = await create(registrar.token, {
      scopes: ['openid', 'profile', 'email', 'offline_access', 'members:read'],
    });
    expect(allowed.errors).toBeUndefined();
    const id = allowed.data.createOAuthClient.client.id;
    const update = await server.graphql(UPDATE, { id, input: { scopes: ['roles:write'] } }, { token: registrar.token });
    expect(refusalOf(update)).toMatchObject({ reason: 'role.escalation' });
    expect((await server.sql('SELECT scopes FROM oauth_clients WHERE id = $1', [id]))[0].scopes).toContain(
      'members:read',
    );
  });

  it('refuses to hand the secret of a client with scopes the caller lacks', async () => {
    const powerful = await newClientId(owner.token, { scopes: ['openid', 'audit:read'] });
    const rotated = await server.graphql(ROTATE, { id: powerful }, { token: registrar.token });
    expect(refusalOf(rotated)).toMatchObject({ code: 'FORBIDDEN', reason: 'role.escalation' });
    expect((await server.graphql(ROTATE, { id: powerful }, { token: owner.token })).errors).toBeUndefined();
  });

  it('refuses to redirect a client with scopes the caller lacks, where its codes would then go', async () => {
    const powerful = await newClientId(owner.token, { scopes: ['openid', 'audit:read'] });
    const redirected = await server.graphql(
      UPDATE,
      { id: powerful, input: { redirectUris: ['https://attacker.example/callback'] } },
      { token: registrar.token },
    );
    expect(refusalOf(redirected)).toMatchObject({ code: 'FORBIDDEN', reason: 'role.escalation' });
    const [stored] = await server.sql('SELECT redirect_uris FROM oauth_clients WHERE id = $1', [powerful]);
    expect(stored.redirect_uris).not.toContain('https://attacker.example/callback');
  });
});

describe('API keys', () => {
  it('may not manage clients without clients:write in their scopes', async () => {
    const token = await personalKey(owner, ['clients:read', 'members:read']);
    expect(refusalOf(await create(token))?.code).toBe('FORBIDDEN');
    expect(refusalOf(await server.graphql(ROTATE, { id: clientId }, { token }))?.code).toBe('FORBIDDEN');
    expect(refusalOf(await server.graphql(DELETE, { id: clientId }, { token }))?.code).toBe('FORBIDDEN');
    expect((await server.graphql(LIST, { orgId }, { token })).errors).toBeUndefined();
  });

  it('may with clients:write, within the key’s scopes, audited as the key', async () => {
    const token = await personalKey(owner, ['clients:read', 'clients:write', 'members:read']);
    expect(refusalOf(await create(token, { scopes: ['audit:read'] }))).toMatchObject({ reason: 'role.escalation' });
    const response = await create(token);
    expect(response.errors).toBeUndefined();
    const [record] = await server.sql(
      "SELECT actor_id, api_key_id FROM audit_logs WHERE action = 'oauth_client.created' AND target_id = $1",
      [response.data.createOAuthClient.client.id],
    );
    expect(record.actor_id).toBe(owner.id);
    expect(record.api_key_id).not.toBeNull();
  });
});
