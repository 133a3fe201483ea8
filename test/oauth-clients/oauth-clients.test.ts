import { createHash } from 'node:crypto';
import { createOrgAs, person, type Person } from '../support/fixtures';
import type { GraphQLResponse } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let orgId: string;
let owner: Person;

const CLIENT_FIELDS =
  'id clientId name type redirectUris scopes grantTypes secretRotatedAt org { id } createdBy { id }';
const CREATE = `mutation ($input: CreateOAuthClientInput!) {
  createOAuthClient(input: $input) { clientSecret client { ${CLIENT_FIELDS} } }
}`;
const UPDATE = `mutation ($id: ID!, $input: UpdateOAuthClientInput!) {
  updateOAuthClient(id: $id, input: $input) { ${CLIENT_FIELDS} }
}`;
const DELETE = 'mutation ($id: ID!) { deleteOAuthClient(id: $id) }';
const ROTATE = `mutation ($id: ID!) { rotateOAuthClientSecret(id: $id) { clientSecret client { ${CLIENT_FIELDS} } } }`;
const LIST = `query ($orgId: ID!, $first: Int, $after: String) {
  org(id: $orgId) {
    oauthClients(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id name } }
    }
  }
}`;

type Client = {
  id: string;
  clientId: string;
  name: string;
  type: string;
  redirectUris: string[];
  scopes: string[];
  grantTypes: string[];
  secretRotatedAt: string | null;
};
type Issued = { clientSecret: string | null; client: Client };

let counter = 0;
const uniqueName = (base: string) => `${base} ${++counter}`;

const webApp = (overrides: Record<string, unknown> = {}) => ({
  orgId,
  name: uniqueName('Web app'),
  type: 'CONFIDENTIAL',
  redirectUris: ['https://app.example.com/callback'],
  scopes: ['openid', 'email', 'members:read'],
  grantTypes: ['AUTHORIZATION_CODE', 'REFRESH_TOKEN'],
  ...overrides,
});

function dataOf<T>(response: GraphQLResponse, field: string): T {
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data[field];
}

const create = (input: Record<string, unknown>, token = owner.token) => server.graphql(CREATE, { input }, { token });

async function created(overrides: Record<string, unknown> = {}): Promise<Issued> {
  return dataOf(await create(webApp(overrides)), 'createOAuthClient');
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

async function storedHash(id: string): Promise<Buffer | null> {
  const [row] = await server.sql('SELECT secret_hash FROM oauth_clients WHERE id = $1', [id]);
  return row.secret_hash;
}

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'olivia');
  orgId = await createOrgAs(server, owner.token, 'Clients Inc');
});

afterAll(async () => {
  await server.close();
});

describe('registering, changing and deleting clients', () => {
  it('registers a CONFIDENTIAL client, shows its secret once and stores only its SHA-256', async () => {
    const input = webApp({ name: '  Billing portal ', scopes: ['members:read', 'openid', 'openid'] });
    const { client, clientSecret } = dataOf<Issued>(await create(input), 'createOAuthClient');
    expect(client).toMatchObject({
      name: 'Billing portal',
      type: 'CONFIDENTIAL',
      redirectUris: ['https://app.example.com/callback'],
      scopes: ['members:read', 'openid'],
      grantTypes: ['AUTHORIZATION_CODE', 'REFRESH_TOKEN'],
      secretRotatedAt: null,
      org: { id: orgId },
      createdBy: { id: owner.id },
    });
    expect(client.clientId).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(client.clientId).not.toBe(client.id);
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(Buffer.from(clientSecret!, 'base64url').length).toBeGreaterThanOrEqual(32);

    const [row] = await server.sql('SELECT * FROM oauth_clients WHERE id = $1', [client.id]);
    expect(row.secret_hash).toEqual(sha256(clientSecret!));
    expect(JSON.stringify(row)).not.toContain(clientSecret);

    const listed = await server.graphql(LIST, { orgId, first: 100 }, { token: owner.token });
    expect(JSON.stringify(listed)).not.toContain(clientSecret);
  });

  it('never issues the first-party client id, which the table refuses too', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, async () => (await created()).client.clientId));
    expect(ids).not.toContain('portcullis');
    expect(new Set(ids).size).toBe(ids.length);
    const { client } = await created();
    await expect(
      server.sql("UPDATE oauth_clients SET client_id = 'portcullis' WHERE id = $1", [client.id]),
    ).rejects.toThrow(/check constraint/);
  });

  it('registers a PUBLIC native client without a secret', async () => {
    const { client, clientSecret } = await created({
      type: 'PUBLIC',
      redirectUris: ['com.example.app:/oauth/callback', 'http://127.0.0.1:8123/cb', 'http://[::1]/cb'],
      grantTypes: ['REFRESH_TOKEN', 'AUTHORIZATION_CODE'],
    });
    expect(clientSecret).toBeNull();
    expect(client.grantTypes).toEqual(['AUTHORIZATION_CODE', 'REFRESH_TOKEN']);
    expect(await storedHash(client.id)).toBeNull();
    const rotated = await server.graphql(ROTATE, { id: client.id }, { token: owner.token });
    expect(rotated.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'oauth_client.no_secret' });
  });

  it('updates name, redirect URIs, scopes and grants, keeping what is left out', async () => {
    const { client } = await created();
    const name = uniqueName('Renamed');
    const updated = dataOf<Client>(
      await server.graphql(
        UPDATE,
        {
          id: client.id,
          input: { name, redirectUris: ['https://new.example.com/cb'], grantTypes: ['CLIENT_CREDENTIALS'] },
        },
        { token: owner.token },
      ),
      'updateOAuthClient',
    );
    expect(updated).toMatchObject({
      id: client.id,
      clientId: client.clientId,
      name,
      redirectUris: ['https://new.example.com/cb'],
      scopes: client.scopes,
      grantTypes: ['CLIENT_CREDENTIALS'],
    });
    const again = dataOf<Client>(
      await server.graphql(UPDATE, { id: client.id, input: { scopes: ['profile'] } }, { token: owner.token }),
      'updateOAuthClient',
    );
    expect(again).toMatchObject({ name, scopes: ['profile'], grantTypes: ['CLIENT_CREDENTIALS'] });
  });

  it('deletes a client, after which it is gone', async () => {
    const { client } = await created();
    expect(dataOf(await server.graphql(DELETE, { id: client.id }, { token: owner.token }), 'deleteOAuthClient')).toBe(
      true,
    );
    expect(await server.sql('SELECT 1 FROM oauth_clients WHERE id = $1', [client.id])).toEqual([]);
    const again = await server.graphql(DELETE, { id: client.id }, { token: owner.token });
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'oauth_client.not_found' });
  });

  it('rotates a secret: a new one, the old hash gone at once', async () => {
    const { client, clientSecret: first } = await created();
    const rotated = dataOf<Issued>(
      await server.graphql(ROTATE, { id: client.id }, { token: owner.token }),
      'rotateOAuthClientSecret',
    );
    expect(rotated.client.clientId).toBe(client.clientId);
    expect(rotated.client.secretRotatedAt).not.toBeNull();
    expect(rotated.clientSecret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(rotated.clientSecret).not.toBe(first);
    const hash = await storedHash(client.id);
    expect(hash).toEqual(sha256(rotated.clientSecret!));
    expect(await server.sql('SELECT 1 FROM oauth_clients WHERE secret_hash = $1', [sha256(first!)])).toEqual([]);
  });

  it('refuses a second client of the same name in the org, ignoring case', async () => {
    const { client } = await created({ name: 'Mobile App' });
    const clash = await create(webApp({ name: 'mobile app' }));
    expect(clash.errors?.[0]?.extensions).toMatchObject({
      code: 'CONFLICT',
      reason: 'oauth_client.name_in_use',
      field: 'name',
    });
    const other = await created();
    const renamed = await server.graphql(
      UPDATE,
      { id: other.client.id, input: { name: 'MOBILE APP' } },
      { token: owner.token },
    );
    expect(renamed.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'oauth_client.name_in_use' });
    const elsewhere = await createOrgAs(server, owner.token, 'Second Org');
    expect((await create(webApp({ orgId: elsewhere, name: 'Mobile App' }))).errors).toBeUndefined();
    expect(client.name).toBe('Mobile App');
  });

  it('audits every change in its transaction, without the secret or its hash', async () => {
    const { client, clientSecret } = await created();
    await server.graphql(UPDATE, { id: client.id, input: { name: uniqueName('Audited') } }, { token: owner.token });
    const rotated = dataOf<Issued>(
      await server.graphql(ROTATE, { id: client.id }, { token: owner.token }),
      'rotateOAuthClientSecret',
    );
    await server.graphql(DELETE, { id: client.id }, { token: owner.token });
    const records = await server.sql(
      'SELECT action, actor_id, org_id, target_type, changes FROM audit_logs WHERE target_id = $1 ORDER BY seq',
      [client.id],
    );
    expect(records.map((r) => r.action)).toEqual([
      'oauth_client.created',
      'oauth_client.updated',
      'oauth_client.secret_rotated',
      'oauth_client.deleted',
    ]);
    for (const record of records) {
      expect(record).toMatchObject({ actor_id: owner.id, org_id: orgId, target_type: 'OAuthClient' });
    }
    expect(records[0].changes.after).toMatchObject({ clientId: client.clientId, type: 'CONFIDENTIAL' });
    const text = JSON.stringify(records);
    for (const secret of [clientSecret!, rotated.clientSecret!]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(sha256(secret).toString('hex'));
      expect(text).not.toContain(sha256(secret).toString('base64'));
    }
    expect(text).not.toMatch(/secret_?hash|secretHash/i);
  });

  it('pages Org.oauthClients by name', async () => {
    const org = await createOrgAs(server, owner.token, 'Paging Org');
    const names = ['delta', 'Alpha', 'charlie', 'Bravo', 'echo'];
    for (const name of names) await created({ orgId: org, name });
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = dataOf(
        await server.graphql(LIST, { orgId: org, first: 2, after }, { token: owner.token }),
        'org',
      );
      expect(page.oauthClients.totalCount).toBe(5);
      seen.push(...page.oauthClients.edges.map((edge: { node: { name: string } }) => edge.node.name));
      if (!page.oauthClients.pageInfo.hasNextPage) break;
      after = page.oauthClients.pageInfo.endCursor;
    }
    expect(seen).toEqual(['Alpha', 'Bravo', 'charlie', 'delta', 'echo']);
  });
});

describe('validation', () => {
  const refusal = async (input: Record<string, unknown>) => (await create(webApp(input))).errors?.[0]?.extensions;

  it.each([
    ['an empty name', { name: '' }, 'name'],
    ['a blank name', { name: '   ' }, 'name'],
    ['a name over 100 characters', { name: 'x'.repeat(101) }, 'name'],
    ['no redirect URI', { redirectUris: [] }, 'redirectUris'],
    [
      'more than 10 redirect URIs',
      { redirectUris: Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`) },
      'redirectUris',
    ],
    ['an unknown scope', { scopes: ['openid', 'admin'] }, 'scopes'],
    ['no grant type', { grantTypes: [] }, 'grantTypes'],
  ])('refuses %s', async (_label, input, field) => {
    expect(await refusal(input)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'request.invalid_input', field });
  });

  it('accepts a name of exactly 100 characters', async () => {
    expect((await create(webApp({ name: 'n'.repeat(100) }))).errors).toBeUndefined();
  });

  it('refuses a grant type outside the enum', async () => {
    const response = await create(webApp({ grantTypes: ['PASSWORD'] }));
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.data).toBeFalsy();
  });

  it.each([
    ['a relative URI', 'CONFIDENTIAL', '/callback'],
    ['plain http to a remote host', 'CONFIDENTIAL', 'http://app.example.com/callback'],
    ['http to a lookalike of localhost', 'PUBLIC', 'http://localhost.example.com/cb'],
    ['a fragment', 'CONFIDENTIAL', 'https://app.example.com/callback#x'],
    ['an empty fragment', 'CONFIDENTIAL', 'https://app.example.com/callback#'],
    ['a wildcard host', 'CONFIDENTIAL', 'https://*.example.com/callback'],
    ['a wildcard path', 'CONFIDENTIAL', 'https://app.example.com/*'],
    ['credentials', 'CONFIDENTIAL', 'https://user:pass@app.example.com/cb'],
    ['javascript:', 'PUBLIC', 'javascript:alert(1)'],
    ['a scheme that is no reversed domain', 'PUBLIC', 'myapp:/callback'],
    ['a private-use scheme on a CONFIDENTIAL client', 'CONFIDENTIAL', 'com.example.app:/callback'],
  ])('refuses a redirect URI with %s', async (_label, type, uri) => {
    const grantTypes = ['AUTHORIZATION_CODE'];
    expect(await refusal({ type, grantTypes, redirectUris: ['https://ok.example.com/cb', uri] })).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'oauth_client.invalid_redirect_uri',
      field: 'redirectUris',
    });
  });

  it.each([
    ['http://localhost:3000/callback'],
    ['http://127.0.0.1/callback'],
    ['http://[::1]:8080/cb'],
    ['https://app.example.com/callback?tenant=1'],
  ])('accepts %s for a CONFIDENTIAL client', async (uri) => {
    expect((await create(webApp({ redirectUris: [uri] }))).errors).toBeUndefined();
  });

  it('refuses CLIENT_CREDENTIALS for a PUBLIC client, and REFRESH_TOKEN without AUTHORIZATION_CODE', async () => {
    expect(await refusal({ type: 'PUBLIC', grantTypes: ['AUTHORIZATION_CODE', 'CLIENT_CREDENTIALS'] })).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'oauth_client.grant_not_allowed',
      field: 'grantTypes',
    });
    expect(await refusal({ grantTypes: ['REFRESH_TOKEN'] })).toMatchObject({
      reason: 'oauth_client.grant_not_allowed',
      field: 'grantTypes',
    });
    expect(await refusal({ grantTypes: ['REFRESH_TOKEN', 'CLIENT_CREDENTIALS'] })).toMatchObject({
      reason: 'oauth_client.grant_not_allowed',
    });
  });

  it('applies the same rules to an update, against the stored type', async () => {
    const { client } = await created({ type: 'PUBLIC', grantTypes: ['AUTHORIZATION_CODE'] });
    const update = (input: Record<string, unknown>) =>
      server.graphql(UPDATE, { id: client.id, input }, { token: owner.token });
    expect((await update({ grantTypes: ['CLIENT_CREDENTIALS'] })).errors?.[0]?.extensions).toMatchObject({
      reason: 'oauth_client.grant_not_allowed',
      field: 'grantTypes',
    });
    expect((await update({ redirectUris: ['http://evil.example/cb'] })).errors?.[0]?.extensions).toMatchObject({
      reason: 'oauth_client.invalid_redirect_uri',
      field: 'redirectUris',
    });
    expect((await update({ name: ' ' })).errors?.[0]?.extensions).toMatchObject({ field: 'name' });
    expect((await update({ redirectUris: ['com.example.app:/cb'] })).errors).toBeUndefined();
    const [row] = await server.sql('SELECT grant_types, redirect_uris FROM oauth_clients WHERE id = $1', [client.id]);
    expect(row).toEqual({ grant_types: ['AUTHORIZATION_CODE'], redirect_uris: ['com.example.app:/cb'] });
  });

  it('records nothing for a refused registration', async () => {
    const name = uniqueName('Refused');
    await create(webApp({ name, redirectUris: ['http://remote.example/cb'] }));
    expect(await server.sql('SELECT 1 FROM oauth_clients WHERE name = $1', [name])).toEqual([]);
    expect(
      await server.sql("SELECT 1 FROM audit_logs WHERE action = 'oauth_client.created' AND changes::text LIKE $1", [
        `%${name}%`,
      ]),
    ).toEqual([]);
  });
});
