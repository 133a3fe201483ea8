import { hashToken } from '../../src/core/crypto/opaque-token';
import { AppError } from '../../src/core/errors/app-error';
import { BUILT_IN_ROLES, PERMISSIONS } from '../../src/core/permissions/permissions';
import { createOrgAs, MEMBER_PASSWORD, person, roleId, type Person } from '../support/fixtures';
import type { GraphQLResponse } from '../support/graphql-client';
import { OWNER_EMAIL, OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * A delegated credential (an API key) never becomes more than it is: no session, no membership, no
 * self-service, no credential for its own owner — whatever its scopes, whoever its owner.
 */

const CREATE_KEY = `mutation ($input: CreateKeyInput!) { createKey(input: $input) { token apiKey { id } } }`;
const CREATE_SA = `mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }`;
const CREATE_LINK = `mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { token } }`;
const ACCEPT = `mutation ($token: String!) { acceptInvitation(input: { token: $token }) { accessToken refreshToken } }`;
const ROTATE = `mutation ($id: ID!) { rotateKey(id: $id, gracePeriodSeconds: 60) {
  token apiKey { id name scopes expiresAt owner { id } org { id } rotatedFrom { id } }
} }`;
const ME = `query { me { id superUser } }`;

type Key = { id: string; token: string };

let server: TestGateway;
/** The bootstrap owner of Acme, a super user. */
let superUser: Person & { refreshToken: string };
let acmeId: string;
/** An org none of the keys' owners belongs to, with a link anyone holding it may use to join. */
let otherOrgId: string;
let linkToken: string;
/** A person who owns an org, and a key of theirs holding every permission there. */
let alice: Person & { refreshToken: string };
let aliceOrgId: string;
let aliceKey: Key;

async function issueKey(token: string, input: Record<string, unknown>): Promise<Key> {
  const response = await server.graphql(CREATE_KEY, { input: { name: 'key', ...input } }, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return { id: response.data.createKey.apiKey.id, token: response.data.createKey.token };
}

async function serviceAccount(orgId: string, role: string, token: string): Promise<string> {
  const response = await server.graphql(
    CREATE_SA,
    { input: { orgId, name: `Bot ${role}`, roleId: await roleId(server, orgId, role) } },
    { token },
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.createServiceAccount.id;
}

function expectDelegatedRefusal(response: GraphQLResponse) {
  expect(response.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', reason: 'auth.delegated_not_allowed' });
}

/** What an escalation would change: sessions, memberships, the link's use, keys, and the account row. */
async function snapshot(userId: string) {
  const [sessions, memberships, link, keys, account] = await Promise.all([
    server.sql('SELECT id, revoked_at FROM sessions WHERE user_id = $1 ORDER BY id', [userId]),
    server.sql('SELECT org_id, role_id, status FROM memberships WHERE user_id = $1 ORDER BY org_id', [userId]),
    server.sql('SELECT use_count, status FROM invitations WHERE token_hash = $1', [hashToken(linkToken)]),
    server.sql('SELECT id, status FROM api_keys WHERE owner_id = $1 ORDER BY id', [userId]),
    server.sql('SELECT first_name, last_name, default_org_id, password_hash, locked_at FROM users WHERE id = $1', [
      userId,
    ]),
  ]);
  return { sessions, memberships, link, keys, account };
}

beforeAll(async () => {
  server = await startTestGateway();
  const signedIn = await server.login(OWNER_EMAIL, OWNER_PASSWORD);
  superUser = { id: signedIn.userId, email: OWNER_EMAIL, token: signedIn.accessToken, ...signedIn };
  [{ org_id: acmeId }] = await server.sql('SELECT org_id FROM memberships WHERE user_id = $1', [superUser.id]);

  const host = await person(server, 'host');
  otherOrgId = await createOrgAs(server, host.token, 'Elsewhere');
  const link = await server.graphql(
    CREATE_LINK,
    { input: { orgId: otherOrgId, roleId: await roleId(server, otherOrgId, 'viewer') } },
    { token: host.token },
  );
  linkToken = link.data.createInviteLink.token;

  const alicePerson = await person(server, 'alice');
  aliceOrgId = await createOrgAs(server, alicePerson.token, 'Alice Org');
  const aliceSession = await server.login(alicePerson.email, MEMBER_PASSWORD);
  alice = { ...alicePerson, token: aliceSession.accessToken, refreshToken: aliceSession.refreshToken };
  aliceKey = await issueKey(alice.token, { ownerId: alice.id, orgId: aliceOrgId, scopes: [...PERMISSIONS] });
});

afterAll(async () => {
  await server.close();
});

describe('accepting an invitation with a key', () => {
  it("is refused to a super user's narrowly scoped personal key: no session, no membership, audited", async () => {
    const key = await issueKey(superUser.token, { ownerId: superUser.id, orgId: acmeId, scopes: ['resources:read'] });
    const me = await server.graphql(ME, {}, { token: key.token });
    expect(me.data.me.id).toBe(superUser.id);
    const before = await snapshot(superUser.id);

    const accepted = await server.graphql(ACCEPT, { token: linkToken }, { token: key.token });
    expectDelegatedRefusal(accepted);
    expect(accepted.data).toBeNull();
    expect(await snapshot(superUser.id)).toEqual(before);

    const [denial] = await server.sql(
      `SELECT actor_id, api_key_id, changes FROM audit_logs WHERE action = 'authz.denied' AND request_id = $1`,
      [accepted.headers.get('x-request-id')],
    );
    expect(denial).toEqual({
      actor_id: superUser.id,
      api_key_id: key.id,
      changes: { reason: 'auth.delegated_not_allowed', code: 'FORBIDDEN' },
    });
  });

  it("is refused to a service account's key: it never gets a session or joins another org", async () => {
    const robotId = await serviceAccount(acmeId, 'admin', superUser.token);
    const key = await issueKey(superUser.token, { ownerId: robotId, scopes: ['members:read', 'members:invite'] });
    const before = await snapshot(robotId);
    expectDelegatedRefusal(await server.graphql(ACCEPT, { token: linkToken }, { token: key.token }));
    expect(await snapshot(robotId)).toEqual(before);
    expect(await server.sql('SELECT 1 FROM sessions WHERE user_id = $1', [robotId])).toEqual([]);
  });

  it('still works for a signed-in person and for a new account', async () => {
    const joiner = await person(server, 'joiner');
    const joined = await server.graphql(ACCEPT, { token: linkToken }, { token: joiner.token });
    expect(joined.errors).toBeUndefined();
    expect(joined.data.acceptInvitation.accessToken).toEqual(expect.any(String));
  });
});

describe("a key with every permission of its owner's role", () => {
  /** Each operation, sent with Alice's key, must be refused and leave Alice's account as it was. */
  const refused: Array<[string, () => Promise<{ query: string; variables: Record<string, unknown> }>]> = [
    ['updateUser of its owner', async () => updateUser(alice.id, { firstName: 'Mallory' })],
    ['updateUser of its owner’s default org', async () => updateUser(alice.id, { defaultOrgId: aliceOrgId })],
    ['updateUser of its owner, id in capitals', async () => updateUser(alice.id.toUpperCase(), { lastName: 'X' })],
    ['sessions', async () => ({ query: 'query { sessions { edges { node { id } } } }', variables: {} })],
    [
      'revokeSession',
      async () => ({
        query: 'mutation ($id: ID!) { revokeSession(id: $id) }',
        variables: { id: (await activeSessionIds(alice.id))[0] },
      }),
    ],
    [
      'changePassword',
      async () => ({
        query: 'mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }',
        variables: { c: MEMBER_PASSWORD, n: 'a brand new password 42' },
      }),
    ],
    ['createOrg', async () => ({ query: 'mutation { createOrg(input: { name: "Key Org" }) { id } }', variables: {} })],
    [
      'logout',
      async () => ({
        query: 'mutation ($t: String!) { logout(refreshToken: $t) }',
        variables: { t: alice.refreshToken },
      }),
    ],
    [
      'login, even with the right password',
      async () => ({
        query: 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
        variables: { e: alice.email, p: MEMBER_PASSWORD },
      }),
    ],
    [
      'refreshSession',
      async () => ({
        query: 'mutation ($t: String!) { refreshSession(refreshToken: $t) { accessToken } }',
        variables: { t: alice.refreshToken },
      }),
    ],
    [
      'requestPasswordReset',
      async () => ({
        query: 'mutation ($e: String!) { requestPasswordReset(email: $e) }',
        variables: { e: alice.email },
      }),
    ],
    [
      'createKey for its owner',
      async () => ({
        query: CREATE_KEY,
        variables: { input: { ownerId: alice.id, orgId: aliceOrgId, name: 'more', scopes: ['org:read'] } },
      }),
    ],
    [
      'createKey for its owner without naming the org',
      async () => ({ query: CREATE_KEY, variables: { input: { ownerId: alice.id, name: 'more', scopes: [] } } }),
    ],
    [
      'rotateKey of another key of its owner',
      async () => ({ query: ROTATE, variables: { id: (await siblingKey()).id } }),
    ],
    [
      'revokeKey of another key of its owner',
      async () => ({
        query: 'mutation ($id: ID!) { revokeKey(id: $id) { id } }',
        variables: { id: (await siblingKey()).id },
      }),
    ],
  ];

  let sibling: Key | null = null;
  async function siblingKey(): Promise<Key> {
    sibling ??= await issueKey(alice.token, { ownerId: alice.id, orgId: aliceOrgId, scopes: ['audit:read'] });
    return sibling;
  }

  it.each(refused)('is refused %s with FORBIDDEN, and nothing changes', async (_name, build) => {
    const { query, variables } = await build();
    const before = await snapshot(alice.id);
    const response = await server.graphql(query, variables, { token: aliceKey.token });
    expectDelegatedRefusal(response);
    expect(await snapshot(alice.id)).toEqual(before);
    expect(await server.sql(`SELECT 1 FROM orgs WHERE name = 'Key Org'`)).toEqual([]);
  });

  it('still reads `me`, and rotates itself into a successor with the same owner, scopes and expiry', async () => {
    const key = await issueKey(alice.token, {
      ownerId: alice.id,
      orgId: aliceOrgId,
      scopes: ['members:read'],
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect((await server.graphql(ME, {}, { token: key.token })).data.me).toEqual({ id: alice.id, superUser: false });
    const rotated = await server.graphql(ROTATE, { id: key.id }, { token: key.token });
    expect(rotated.errors).toBeUndefined();
    const [original] = await server.sql('SELECT name, scopes, expires_at FROM api_keys WHERE id = $1', [key.id]);
    expect(rotated.data.rotateKey.apiKey).toEqual({
      id: expect.any(String),
      name: original.name,
      scopes: original.scopes,
      expiresAt: original.expires_at.toISOString(),
      owner: { id: alice.id },
      org: { id: aliceOrgId },
      rotatedFrom: { id: key.id },
    });
    const successor = rotated.data.rotateKey.token;
    expect((await server.graphql(ME, {}, { token: successor })).data.me.id).toBe(alice.id);
  });

  it('may still act on others within its scopes: another member’s profile', async () => {
    const bob = await person(server, 'bob', { orgId: aliceOrgId, role: 'viewer' });
    const { query, variables } = updateUser(bob.id, { firstName: 'Robert' });
    expect((await server.graphql(query, variables, { token: aliceKey.token })).errors).toBeUndefined();
    const [renamed] = await server.sql('SELECT first_name FROM users WHERE id = $1', [bob.id]);
    expect(renamed.first_name).toBe('Robert');
  });
});

describe('keys for service accounts', () => {
  /** Rank comes from the key's scopes ∩ its owner's role: an admin's whole role outranks a viewer. */
  const ADMIN_PERMISSIONS = BUILT_IN_ROLES.find((role) => role.key === 'admin')!.permissions;
  let adminPat: Key;
  let viewerBotId: string;

  beforeAll(async () => {
    const admin = await person(server, 'admin', { orgId: aliceOrgId, role: 'admin' });
    adminPat = await issueKey(admin.token, {
      ownerId: admin.id,
      orgId: aliceOrgId,
      scopes: ADMIN_PERMISSIONS,
    });
    viewerBotId = await serviceAccount(aliceOrgId, 'viewer', alice.token);
  });

  it("are made for another service account by an admin's personal key with apikeys:write, as today", async () => {
    const made = await server.graphql(
      CREATE_KEY,
      { input: { ownerId: viewerBotId, name: 'deploy', scopes: ['members:read'] } },
      { token: adminPat.token },
    );
    expect(made.errors).toBeUndefined();
    expect((await server.graphql(ME, {}, { token: made.data.createKey.token })).data.me.id).toBe(viewerBotId);
  });

  it("are made by a service account's key for other service accounts, never for itself", async () => {
    const adminBotId = await serviceAccount(aliceOrgId, 'admin', alice.token);
    const botKey = await issueKey(alice.token, { ownerId: adminBotId, scopes: ADMIN_PERMISSIONS });
    const forOther = await server.graphql(
      CREATE_KEY,
      { input: { ownerId: viewerBotId, name: 'from bot', scopes: ['members:read'] } },
      { token: botKey.token },
    );
    expect(forOther.errors).toBeUndefined();
    const before = await snapshot(adminBotId);
    const forItself = await server.graphql(
      CREATE_KEY,
      { input: { ownerId: adminBotId, name: 'again', scopes: ['members:read'] } },
      { token: botKey.token },
    );
    expectDelegatedRefusal(forItself);
    expect(await snapshot(adminBotId)).toEqual(before);
  });
});

describe('service accounts never hold a session', () => {
  it('in the database: a session row for one is refused by a trigger', async () => {
    const robotId = await serviceAccount(aliceOrgId, 'viewer', alice.token);
    const insert = (userId: string) =>
      server.sql(`INSERT INTO sessions (user_id, expires_at) VALUES ($1, now() + interval '1 hour') RETURNING id`, [
        userId,
      ]);
    await expect(insert(robotId)).rejects.toThrow(/service accounts cannot hold sessions/);
    const [own] = await insert(alice.id);
    await expect(server.sql('UPDATE sessions SET user_id = $2 WHERE id = $1', [own.id, robotId])).rejects.toThrow(
      /service accounts cannot hold sessions/,
    );
    await server.sql('DELETE FROM sessions WHERE id = $1', [own.id]);
  });

  it('in the services: starting one, or accepting an invitation as one, is refused', async () => {
    const robotId = await serviceAccount(aliceOrgId, 'viewer', alice.token);
    const { services, database } = server.gateway;
    const actor = {
      actorId: null,
      actorKind: 'SYSTEM',
      apiKeyId: null,
      ipAddress: null,
      userAgent: null,
      requestId: null,
    };
    await expect(
      database.dataSource.transaction((tx) => services.auth.startSession(tx, robotId, aliceOrgId, actor)),
    ).rejects.toMatchObject({ key: 'session.service_account' });

    const asKey = { userId: alice.id, kind: 'HUMAN', superUser: false, orgId: aliceOrgId, sessionId: null };
    const keyPrincipal = { ...asKey, apiKeyId: aliceKey.id, credential: 'api_key' } as const;
    await expect(services.invitations.accept({ token: linkToken }, keyPrincipal as never, actor)).rejects.toEqual(
      new AppError('auth.delegated_not_allowed'),
    );
    // Even a principal claiming a session for a service account (none can exist) does not join.
    const robotPrincipal = {
      ...asKey,
      userId: robotId,
      kind: 'SERVICE_ACCOUNT',
      apiKeyId: null,
      credential: 'session',
    };
    await expect(
      services.invitations.accept({ token: linkToken }, robotPrincipal as never, actor),
    ).rejects.toMatchObject({ key: 'session.service_account' });
    expect(
      await server.sql('SELECT 1 FROM memberships WHERE user_id = $1 AND org_id = $2', [robotId, otherOrgId]),
    ).toEqual([]);
  });
});

function updateUser(id: string, input: Record<string, unknown>) {
  return {
    query: 'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }',
    variables: { id, input },
  };
}

async function activeSessionIds(userId: string): Promise<string[]> {
  const rows = await server.sql('SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
  return rows.map((row) => row.id as string);
}
