import { addMember, createOrgAs, MEMBER_PASSWORD, person, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let superUser: { token: string; id: string };

const DELETE_SELF = 'mutation ($password: String) { deleteAccount(password: $password) }';
const DELETE_OTHER = 'mutation ($userId: ID) { deleteAccount(userId: $userId) }';
const ME = 'query { me { id } }';
const VERIFY = 'query ($orgId: ID) { verifyAuditChain(orgId: $orgId) { valid checked reason } }';
const AUDIT_LOGS = `query ($orgId: ID!) {
  auditLogs(orgId: $orgId, first: 100) { edges { node { action targetId changes } } }
}`;

async function must(query: string, variables: Record<string, unknown>, token: string) {
  const response = await server.graphql(query, variables, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

async function exists(userId: string): Promise<boolean> {
  return (await server.sql('SELECT 1 FROM users WHERE id = $1', [userId])).length > 0;
}

async function verifies(orgId: string | null) {
  return (await must(VERIFY, { orgId }, superUser.token)).verifyAuditChain;
}

beforeAll(async () => {
  server = await startTestGateway();
  const signedIn = await server.login();
  superUser = { token: signedIn.accessToken, id: signedIn.userId };
});

afterAll(async () => {
  await server.close();
});

describe('deleteAccount of oneself', () => {
  let owner: Person;
  let orgId: string;
  let otherOrgId: string;
  let leaver: Person;
  const firstName = 'Zebulon';
  const lastName = 'Quartermaine';

  beforeAll(async () => {
    owner = await person(server, 'del-owner');
    orgId = await createOrgAs(server, owner.token, 'Leavers Org');
    otherOrgId = await createOrgAs(server, owner.token, 'Second Org');
    leaver = await person(server, 'leaver', { orgId, role: 'admin' });
    await addMember(server, otherOrgId, leaver.id, 'editor');
    // Personal data reaches audit records: a profile change, a failed sign-in, a reset request.
    await must(
      'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }',
      { id: leaver.id, input: { firstName, lastName } },
      leaver.token,
    );
    await server.graphql('mutation ($e: String!) { login(email: $e, password: "not the password") { accessToken } }', {
      e: leaver.email,
    });
    await server.graphql('mutation ($e: String!) { requestPasswordReset(email: $e) }', { e: leaver.email });
  });

  it('shows the personal data in clear to an auditor before the deletion', async () => {
    const { auditLogs } = await must(AUDIT_LOGS, { orgId }, owner.token);
    const updated = auditLogs.edges.find(
      ({ node }: any) => node.action === 'user.updated' && node.targetId === leaver.id,
    );
    expect(updated.node.changes.after).toMatchObject({ firstName, lastName });
    // Stored sealed: the text is nowhere in the table.
    const stored = await server.sql('SELECT audit_logs::text AS row FROM audit_logs');
    const text = stored.map(({ row }) => row.toLowerCase()).join('\n');
    for (const personal of [leaver.email, firstName, lastName]) expect(text).not.toContain(personal.toLowerCase());
  });

  it('refuses a wrong or missing password as changePassword does, and changes nothing', async () => {
    const wrong = await server.graphql(DELETE_SELF, { password: 'not my password' }, { token: leaver.token });
    expect(errorCode(wrong)).toBe('BAD_USER_INPUT');
    expect(wrong.errors?.[0].extensions).toMatchObject({ reason: 'password.incorrect', field: 'password' });
    const missing = await server.graphql(DELETE_SELF, {}, { token: leaver.token });
    expect(missing.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'password' });
    expect(await exists(leaver.id)).toBe(true);
  });

  it("refuses another person's account to anyone but a super user, whether it exists or not", async () => {
    for (const userId of [owner.id, '00000000-0000-4000-8000-000000000000']) {
      expect(errorCode(await server.graphql(DELETE_OTHER, { userId }, { token: leaver.token }))).toBe('FORBIDDEN');
    }
    expect(await exists(owner.id)).toBe(true);
  });

  it('deletes the account: its credentials fail at once, its personal data is erased, every chain verifies', async () => {
    const session = await server.login(leaver.email, MEMBER_PASSWORD, orgId);
    const key = (
      await must(
        'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
        { input: { ownerId: leaver.id, name: 'pat', scopes: ['org:read'], orgId } },
        session.accessToken,
      )
    ).createKey.token;
    expect((await must(ME, {}, key)).me.id).toBe(leaver.id);

    expect((await must(DELETE_SELF, { password: MEMBER_PASSWORD }, session.accessToken)).deleteAccount).toBe(true);
    expect(await exists(leaver.id)).toBe(false);

    for (const token of [session.accessToken, leaver.token, key]) {
      expect(errorCode(await server.graphql(ME, {}, { token }))).toBe('UNAUTHENTICATED');
    }
    const refreshed = await server.graphql(
      'mutation ($t: String!) { refreshSession(refreshToken: $t) { accessToken } }',
      { t: session.refreshToken },
    );
    expect(errorCode(refreshed)).toBe('UNAUTHENTICATED');
    await expect(server.login(leaver.email, MEMBER_PASSWORD)).rejects.toThrow(/login failed/);

    // The deletion is one account event, in the account chain and in each org the account was in.
    const deleted = await server.sql(
      `SELECT org_id FROM audit_logs WHERE action = 'user.deleted' AND target_id = $1 ORDER BY org_id`,
      [leaver.id],
    );
    expect(deleted.map(({ org_id }) => org_id).sort()).toEqual([orgId, otherOrgId, null].sort());

    const stored = await server.sql('SELECT audit_logs::text AS row FROM audit_logs');
    const text = stored.map(({ row }) => row.toLowerCase()).join('\n');
    for (const personal of [leaver.email, firstName, lastName]) expect(text).not.toContain(personal.toLowerCase());
    const keys = await server.sql(`SELECT subject FROM audit_subject_keys WHERE subject = $1`, [`user:${leaver.id}`]);
    expect(keys).toEqual([]);

    const { auditLogs } = await must(AUDIT_LOGS, { orgId }, owner.token);
    const updated = auditLogs.edges.find(
      ({ node }: any) => node.action === 'user.updated' && node.targetId === leaver.id,
    );
    expect(updated.node.changes.after).toMatchObject({ firstName: '[erased]', lastName: '[erased]' });

    for (const chain of [orgId, otherOrgId, null]) expect(await verifies(chain)).toMatchObject({ valid: true });
  });
});

describe('deleteAccount by a super user', () => {
  it("deletes another account without a password; the org's owners are kept", async () => {
    const owner = await person(server, 'kept-owner');
    const orgId = await createOrgAs(server, owner.token, 'Kept Org');
    const member = await person(server, 'removed-member', { orgId, role: 'admin' });
    expect((await must(DELETE_OTHER, { userId: member.id }, superUser.token)).deleteAccount).toBe(true);
    expect(await exists(member.id)).toBe(false);
    expect(errorCode(await server.graphql(ME, {}, { token: member.token }))).toBe('UNAUTHENTICATED');
    const [record] = await server.sql(
      `SELECT actor_id, changes FROM audit_logs WHERE action = 'user.deleted' AND target_id = $1 AND org_id IS NULL`,
      [member.id],
    );
    expect(record).toEqual({ actor_id: superUser.id, changes: { kind: 'HUMAN', self: false } });
    expect(await verifies(orgId)).toMatchObject({ valid: true });
    expect(errorCode(await server.graphql(DELETE_OTHER, { userId: member.id }, { token: superUser.token }))).toBe(
      'NOT_FOUND',
    );
  });

  it('refuses the last owner of an org with CONFLICT naming the org', async () => {
    const owner = await person(server, 'sole-owner');
    const orgId = await createOrgAs(server, owner.token, 'Sole Owned');
    const [{ slug }] = await server.sql('SELECT slug FROM orgs WHERE id = $1', [orgId]);
    for (const [query, variables, token] of [
      [DELETE_SELF, { password: MEMBER_PASSWORD }, owner.token],
      [DELETE_OTHER, { userId: owner.id }, superUser.token],
    ] as const) {
      const response = await server.graphql(query, variables, { token });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'user.last_owner', orgId });
      expect(response.errors?.[0].message).toContain(slug);
    }
    expect(await exists(owner.id)).toBe(true);
  });

  it('refuses to delete the last super user who can act', async () => {
    const acme = (await server.sql(`SELECT id FROM orgs WHERE slug = 'acme'`))[0].id;
    const second = await person(server, 'second-super', { orgId: acme, role: 'owner' });
    await server.sql('UPDATE users SET super_user = true WHERE id = $1', [second.id]);
    // The bootstrap owner deletes the other super user, then cannot delete themselves.
    expect((await must(DELETE_OTHER, { userId: second.id }, superUser.token)).deleteAccount).toBe(true);
    await person(server, 'acme-co-owner', { orgId: acme, role: 'owner' });
    const response = await server.graphql(DELETE_SELF, { password: OWNER_PASSWORD }, { token: superUser.token });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'user.last_super_user' });
    expect(await exists(superUser.id)).toBe(true);
  });
});

describe('deleteAccount under concurrency', () => {
  it('leaves an owner when two owners of one org delete themselves at once', async () => {
    const first = await person(server, 'twin-one');
    const orgId = await createOrgAs(server, first.token, 'Twin Owned');
    const second = await person(server, 'twin-two', { orgId, role: 'owner' });
    const results = await Promise.all(
      [first, second].map((who) => server.graphql(DELETE_SELF, { password: MEMBER_PASSWORD }, { token: who.token })),
    );
    const succeeded = results.filter((response) => response.data?.deleteAccount === true);
    const refused = results.filter((response) => errorCode(response) === 'CONFLICT');
    expect([succeeded.length, refused.length]).toEqual([1, 1]);
    const [{ owners }] = await server.sql(
      `SELECT count(*)::int AS owners FROM memberships m JOIN roles r ON r.id = m.role_id
        WHERE m.org_id = $1 AND r.key = 'owner' AND m.status = 'ACTIVE'`,
      [orgId],
    );
    expect(owners).toBe(1);
    expect(await verifies(orgId)).toMatchObject({ valid: true });
    expect(await verifies(null)).toMatchObject({ valid: true });
  });
});
