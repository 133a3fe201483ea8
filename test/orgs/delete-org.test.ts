import { createOrgAs, MEMBER_PASSWORD, person, roleId, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let superUser: { token: string; id: string };

const DELETE_ORG = 'mutation ($id: ID!, $slug: String!) { deleteOrg(id: $id, confirmSlug: $slug) }';
const AUDIT_LOGS =
  'query ($orgId: ID) { auditLogs(orgId: $orgId, first: 100) { totalCount edges { node { action } } } }';
const VERIFY = 'query ($orgId: ID) { verifyAuditChain(orgId: $orgId) { valid checked reason } }';

/** An org with an owner, an admin, a plain member (default org set), a team, a group, a resource, a service account with a key and an invitation. */
async function populatedOrg(name: string) {
  const owner = await person(server, `${name}-owner`);
  const orgId = await createOrgAs(server, owner.token, name);
  const [{ slug }] = await server.sql('SELECT slug FROM orgs WHERE id = $1', [orgId]);
  const admin = await person(server, `${name}-admin`, { orgId, role: 'admin' });
  const member = await person(server, `${name}-member`, { orgId, role: 'viewer' });
  await server.sql('UPDATE users SET default_org_id = $1 WHERE id = $2', [orgId, member.id]);
  const as = (query: string, variables: Record<string, unknown>) =>
    server.graphql(query, variables, { token: owner.token }).then((response) => {
      if (response.errors) throw new Error(JSON.stringify(response.errors));
      return response.data;
    });
  await as('mutation ($input: CreateTeamInput!) { createTeam(input: $input) { id } }', {
    input: { orgId, name: 'Platform' },
  });
  const { createGroup } = await as('mutation ($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
    input: { orgId, name: 'Ops', roleId: await roleId(server, orgId, 'viewer') },
  });
  const { createResource } = await as(
    'mutation ($input: CreateResourceInput!) { createResource(input: $input) { id } }',
    { input: { orgId, name: 'billing-api' } },
  );
  await as('mutation ($r: ID!, $p: ID!) { grantAccess(resourceId: $r, principalId: $p, level: READ) { id } }', {
    r: createResource.id,
    p: createGroup.id,
  });
  const { createServiceAccount } = await as(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
    { input: { orgId, name: 'Deploy Bot', roleId: await roleId(server, orgId, 'viewer') } },
  );
  const { createKey } = await as('mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }', {
    input: { ownerId: createServiceAccount.id, name: 'ci', scopes: ['org:read'] },
  });
  await as('mutation ($input: InviteInput!) { invite(input: $input) { id } }', {
    input: { orgId, email: `${name}-invitee@example.com`, roleId: await roleId(server, orgId, 'viewer') },
  });
  return { orgId, slug, owner, admin, member, robotId: createServiceAccount.id, robotKey: createKey.token };
}

async function count(table: string, orgId: string): Promise<number> {
  const [{ n }] = await server.sql(`SELECT count(*)::int AS n FROM ${table} WHERE org_id = $1`, [orgId]);
  return n;
}

beforeAll(async () => {
  server = await startTestGateway();
  const signedIn = await server.login();
  superUser = { token: signedIn.accessToken, id: signedIn.userId };
});

afterAll(async () => {
  await server.close();
});

describe('deleteOrg', () => {
  let org: Awaited<ReturnType<typeof populatedOrg>>;
  let memberSession: { accessToken: string };

  beforeAll(async () => {
    org = await populatedOrg('doomed');
    // A session issued for the org: it must stop acting there once the org is gone.
    memberSession = await server.login(org.member.email, MEMBER_PASSWORD, org.orgId);
  });

  it('refuses a confirmSlug that is not the slug exactly, and changes nothing', async () => {
    for (const slug of [`${org.slug} `, org.slug.toUpperCase(), 'other']) {
      const response = await server.graphql(DELETE_ORG, { id: org.orgId, slug }, { token: org.owner.token });
      expect(errorCode(response)).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0].extensions).toMatchObject({
        field: 'confirmSlug',
        reason: 'org.confirm_slug_mismatch',
      });
    }
    expect(await server.sql('SELECT slug FROM orgs WHERE id = $1', [org.orgId])).toEqual([{ slug: org.slug }]);
    expect(await count('memberships', org.orgId)).toBe(4);
    const [{ n }] = await server.sql(`SELECT count(*)::int AS n FROM audit_logs WHERE action = 'org.deleted'`);
    expect(n).toBe(0);
  });

  it('refuses an admin (no org:delete) and a stranger, who learns nothing', async () => {
    const byAdmin = await server.graphql(DELETE_ORG, { id: org.orgId, slug: org.slug }, { token: org.admin.token });
    expect(errorCode(byAdmin)).toBe('FORBIDDEN');
    const stranger = await person(server, 'stranger');
    const byStranger = await server.graphql(DELETE_ORG, { id: org.orgId, slug: org.slug }, { token: stranger.token });
    expect(errorCode(byStranger)).toBe('NOT_FOUND');
    expect(await count('memberships', org.orgId)).toBe(4);
  });

  it("lets the owner delete it: everything in it goes, its members' accounts stay", async () => {
    const response = await server.graphql(DELETE_ORG, { id: org.orgId, slug: org.slug }, { token: org.owner.token });
    expect(response.errors).toBeUndefined();
    expect(response.data.deleteOrg).toBe(true);

    for (const table of ['memberships', 'roles', 'teams', 'groups', 'invitations', 'api_keys', 'resources']) {
      expect([table, await count(table, org.orgId)]).toEqual([table, 0]);
    }
    expect(await server.sql('SELECT id FROM orgs WHERE id = $1', [org.orgId])).toEqual([]);
    expect(await server.sql('SELECT id FROM users WHERE id = $1', [org.robotId])).toEqual([]);
    const [remembered] = await server.sql('SELECT slug, deleted_by FROM deleted_orgs WHERE id = $1', [org.orgId]);
    expect(remembered).toEqual({ slug: org.slug, deleted_by: org.owner.id });
    const [member] = await server.sql('SELECT default_org_id FROM users WHERE id = $1', [org.member.id]);
    expect(member.default_org_id).toBeNull();

    // Members keep their accounts and sign in; nothing of the org answers any more.
    for (const who of [org.owner, org.admin, org.member]) await server.login(who.email, MEMBER_PASSWORD);
    const orgQuery = 'query ($id: ID!) { org(id: $id) { id } }';
    expect(errorCode(await server.graphql(orgQuery, { id: org.orgId }, { token: memberSession.accessToken }))).toBe(
      'NOT_FOUND',
    );
    const withKey = await server.graphql(orgQuery, { id: org.orgId }, { token: org.robotKey });
    expect(errorCode(withKey)).toBe('UNAUTHENTICATED');
  });

  it('keeps its audit chain, sealed, for super users only', async () => {
    const logs = await server.graphql(AUDIT_LOGS, { orgId: org.orgId }, { token: superUser.token });
    expect(logs.errors).toBeUndefined();
    expect(logs.data.auditLogs.edges[0].node.action).toBe('org.deleted');
    expect(logs.data.auditLogs.totalCount).toBeGreaterThan(5);

    const verified = await server.graphql(VERIFY, { orgId: org.orgId }, { token: superUser.token });
    expect(verified.data.verifyAuditChain).toEqual({
      valid: true,
      checked: logs.data.auditLogs.totalCount,
      reason: null,
    });
    const [seal] = await server.sql(
      `SELECT c.through_seq::text AS seq, c.removed_count FROM audit_checkpoints c WHERE c.org_id = $1`,
      [org.orgId],
    );
    const [last] = await server.sql(
      // The seal names the chain position (chain_seq) of the chain's last record.
      'SELECT chain_seq::text AS seq, action FROM audit_logs WHERE org_id = $1 ORDER BY audit_logs.chain_seq DESC LIMIT 1',
      [org.orgId],
    );
    expect(last.action).toBe('org.deleted');
    expect(seal).toEqual({ seq: last.seq, removed_count: 0 });

    const exported = await fetch(`${server.url}/audit/export?orgId=${org.orgId}&format=ndjson`, {
      headers: { authorization: `Bearer ${superUser.token}` },
    });
    expect(exported.status).toBe(200);
    expect((await exported.text()).trim().split('\n')).toHaveLength(logs.data.auditLogs.totalCount);

    // Its former owner and anyone else get what an unknown org gives.
    for (const token of [org.owner.token, org.admin.token]) {
      expect(errorCode(await server.graphql(AUDIT_LOGS, { orgId: org.orgId }, { token }))).toBe('NOT_FOUND');
      expect(errorCode(await server.graphql(VERIFY, { orgId: org.orgId }, { token }))).toBe('NOT_FOUND');
      const refused = await fetch(`${server.url}/audit/export?orgId=${org.orgId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(refused.status).toBe(404);
    }
  });

  it('frees the slug for a new org', async () => {
    const founder = await person(server, 'founder');
    const response = await server.graphql(
      'mutation ($input: CreateOrgInput!) { createOrg(input: $input) { id slug } }',
      { input: { name: 'Reborn', slug: org.slug } },
      { token: founder.token },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.createOrg.slug).toBe(org.slug);
  });

  it('shows a sealed chain cut short after the deletion', async () => {
    // As a database superuser, as an intruder would (the append-only trigger exempts superusers).
    await server.sql(
      'DELETE FROM audit_logs WHERE id = (SELECT id FROM audit_logs WHERE org_id = $1 ORDER BY seq DESC LIMIT 1)',
      [org.orgId],
    );
    const verified = await server.graphql(VERIFY, { orgId: org.orgId }, { token: superUser.token });
    expect(verified.data.verifyAuditChain).toMatchObject({ valid: false, reason: expect.stringContaining('seal') });
  });
});

describe('deleteOrg by a super user', () => {
  it('works without a membership, and answers NOT_FOUND for an unknown or already deleted org', async () => {
    const other = await populatedOrg('other');
    const response = await server.graphql(
      DELETE_ORG,
      { id: other.orgId, slug: other.slug },
      { token: superUser.token },
    );
    expect(response.data?.deleteOrg).toBe(true);
    const again = await server.graphql(DELETE_ORG, { id: other.orgId, slug: other.slug }, { token: superUser.token });
    expect(errorCode(again)).toBe('NOT_FOUND');
  });

  it('is refused to an API key, even one of the owner', async () => {
    const owner: Person = await person(server, 'keyed-owner');
    const orgId = await createOrgAs(server, owner.token, 'Keyed');
    const [{ slug }] = await server.sql('SELECT slug FROM orgs WHERE id = $1', [orgId]);
    const issued = await server.graphql(
      'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
      { input: { ownerId: owner.id, name: 'pat', scopes: ['org:delete', 'org:read'], orgId } },
      { token: owner.token },
    );
    const token = issued.data?.createKey?.token;
    expect(token).toBeDefined();
    const response = await server.graphql(DELETE_ORG, { id: orgId, slug }, { token });
    expect(errorCode(response)).toBe('FORBIDDEN');
    expect(await server.sql('SELECT id FROM orgs WHERE id = $1', [orgId])).toHaveLength(1);
  });
});
