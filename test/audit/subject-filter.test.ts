import {
  addMember,
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
 * Everything about one user: `auditLogs(filter: { subjectUserId })` finds each record about them
 * whatever it targets (their account, membership, sessions, keys), and `User.auditLogsAbout` lists
 * each event once across the orgs the caller audits.
 */

let server: TestGateway;
let superUser: string;
let owner: Person;
let auditorB: Person;
let orgA: string;
let orgB: string;
let subject: { id: string; email: string };

/** Where each event of the script is recorded: the account chain and/or the orgs. */
const SCRIPT_EVENTS = {
  inA: 10,
  inB: 7,
  inAccountChain: 6,
  distinct: 11,
};

const ABOUT = `query ($id: ID!, $first: Int, $after: String) {
  user(id: $id) {
    auditLogsAbout(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id action eventId subjectUserId org { id } } }
    }
  }
}`;

type AboutNode = { id: string; action: string; eventId: string; subjectUserId: string; org: { id: string } | null };

async function ok(query: string, variables: Record<string, unknown>, token: string) {
  const response = await server.graphql(query, variables, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

const member = (mutation: string, orgId: string, extra = '', variables: Record<string, unknown> = {}) =>
  ok(
    `mutation ($orgId: ID!, $userId: ID! ${extra}) { ${mutation} { id } }`,
    { orgId, userId: subject.id, ...variables },
    owner.token,
  );

/** Every page of `auditLogsAbout`, `first` at a time. */
async function allPagesAbout(
  token: string,
  first: number,
): Promise<{ nodes: AboutNode[]; pages: number; total: number }> {
  const nodes: AboutNode[] = [];
  let after: string | null = null;
  let pages = 0;
  let total = 0;
  for (;;) {
    const data = await ok(ABOUT, { id: subject.id, first, after }, token);
    const connection = data.user.auditLogsAbout;
    pages += 1;
    total = connection.totalCount;
    expect(connection.edges.length).toBeLessThanOrEqual(first);
    nodes.push(...connection.edges.map((edge: { node: AboutNode }) => edge.node));
    if (!connection.pageInfo.hasNextPage) return { nodes, pages, total };
    after = connection.pageInfo.endCursor;
  }
}

beforeAll(async () => {
  server = await startTestGateway();
  superUser = (await server.login()).accessToken;
  owner = await person(server, 'subject-owner');
  orgA = await createOrgAs(server, owner.token, 'Subject A');
  orgB = await createOrgAs(server, owner.token, 'Subject B');
  auditorB = await person(server, 'subject-auditor-b', { orgId: orgB, role: 'admin' });
  const email = uniqueEmail('subject');
  subject = { id: await createUser(server, email, { firstName: 'Subject' }), email };
  await addMember(server, orgA, subject.id, 'admin');
  await addMember(server, orgB, subject.id, 'viewer');

  // The script: eleven events of every target type, some in one org, some about the account.
  const signedIn = await server.login(email, MEMBER_PASSWORD, orgA); // 1: account (A, B)
  const key = await ok(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { apiKey { id } } }',
    { input: { ownerId: subject.id, orgId: orgA, name: 'subject key', scopes: ['members:read'] } },
    signedIn.accessToken,
  ); // 2: A
  await ok('mutation ($id: ID!) { revokeKey(id: $id) { id } }', { id: key.createKey.apiKey.id }, signedIn.accessToken); // 3: A
  await ok('mutation ($id: ID!) { lock(userId: $id) { id } }', { id: subject.id }, owner.token); // 4: account
  await ok('mutation ($id: ID!) { unlock(userId: $id) { id } }', { id: subject.id }, owner.token); // 5: account
  const again = await server.login(email, MEMBER_PASSWORD, orgA); // 6: account
  await ok(
    'mutation ($id: ID!) { updateUser(id: $id, input: { lastName: "Renamed" }) { id } }',
    { id: subject.id },
    again.accessToken,
  ); // 7: account
  await member('changeRole(orgId: $orgId, userId: $userId, roleId: $roleId)', orgB, ', $roleId: ID!', {
    roleId: await roleId(server, orgB, 'editor'),
  }); // 8: B
  await member('deactivate(orgId: $orgId, userId: $userId)', orgA); // 9: A
  await member('activate(orgId: $orgId, userId: $userId)', orgA); // 10: A
  await ok('mutation ($t: String!) { logout(refreshToken: $t) }', { t: again.refreshToken }, again.accessToken); // 11: account
});

afterAll(async () => {
  await server.close();
});

describe('auditLogs(filter: { subjectUserId })', () => {
  it("finds every record of an org about the user, whatever its target: the org's records about them, their sessions and keys", async () => {
    const data = await ok(
      `query ($orgId: ID!, $subject: ID!) {
        auditLogs(orgId: $orgId, first: 100, filter: { subjectUserId: $subject }) {
          totalCount edges { node { id targetType subjectUserId } }
        }
      }`,
      { orgId: orgA, subject: subject.id },
      owner.token,
    );
    // Found another way: records of org A whose target is the user, one of their sessions or keys.
    const byTarget: Array<{ id: string }> = await server.sql(
      `SELECT id FROM audit_logs
        WHERE org_id = $1
          AND (target_id = $2::text
               OR target_id IN (SELECT id::text FROM sessions WHERE user_id::text = $2)
               OR target_id IN (SELECT id::text FROM api_keys WHERE owner_id::text = $2))`,
      [orgA, subject.id],
    );
    const found = data.auditLogs.edges.map((edge: { node: { id: string } }) => edge.node);
    expect(byTarget).toHaveLength(SCRIPT_EVENTS.inA);
    expect(found).toHaveLength(SCRIPT_EVENTS.inA);
    expect(data.auditLogs.totalCount).toBe(SCRIPT_EVENTS.inA);
    expect(found.map((node: { id: string }) => node.id).sort()).toEqual(byTarget.map((row) => row.id).sort());
    expect(new Set(found.map((node: { targetType: string }) => node.targetType))).toEqual(
      new Set(['User', 'Session', 'ApiKey']),
    );
  });

  it('finds the copies in every chain for a super user, and nothing for an id that names nobody', async () => {
    const count = async (subjectUserId: string) => {
      const data = await ok(
        'query ($s: ID!) { auditLogs(filter: { subjectUserId: $s }) { totalCount } }',
        { s: subjectUserId },
        superUser,
      );
      return data.auditLogs.totalCount;
    };
    expect(await count(subject.id)).toBe(SCRIPT_EVENTS.inA + SCRIPT_EVENTS.inB + SCRIPT_EVENTS.inAccountChain);
    expect(await count('not-an-id')).toBe(0);
  });
});

describe('User.auditLogsAbout', () => {
  it('pages through every event about the user once, across the orgs the caller audits', async () => {
    const { nodes, pages, total } = await allPagesAbout(owner.token, 2);
    expect(nodes).toHaveLength(SCRIPT_EVENTS.distinct);
    expect(total).toBe(SCRIPT_EVENTS.distinct);
    expect(pages).toBe(Math.ceil(SCRIPT_EVENTS.distinct / 2));
    expect(new Set(nodes.map((node) => node.id)).size).toBe(nodes.length);
    expect(new Set(nodes.map((node) => node.eventId)).size).toBe(nodes.length);
    expect(nodes.every((node) => node.subjectUserId === subject.id && node.org !== null)).toBe(true);
    // Newest first; an event in both orgs shows as its first record (org ids sorted).
    expect(nodes[0].action).toBe('session.logout');
    expect(nodes.at(-1)!.action).toBe('session.login');
    const both = nodes.filter((node) => node.action === 'user.locked');
    expect(both.map((node) => node.org!.id)).toEqual([[orgA, orgB].sort()[0]]);
  });

  it("shows an org's auditor only that org's records", async () => {
    const { nodes } = await allPagesAbout(auditorB.token, 3);
    expect(nodes).toHaveLength(SCRIPT_EVENTS.inB);
    expect(nodes.every((node) => node.org?.id === orgB)).toBe(true);
  });

  it("shows a super user the account chain's record of an account event", async () => {
    const { nodes } = await allPagesAbout(superUser, 5);
    expect(nodes).toHaveLength(SCRIPT_EVENTS.distinct);
    expect(nodes.filter((node) => node.org === null)).toHaveLength(SCRIPT_EVENTS.inAccountChain);
  });

  it('refuses a caller who cannot see the user, and shows nothing to one without audit:read', async () => {
    const stranger = await person(server, 'subject-stranger');
    const refused = await server.graphql(ABOUT, { id: subject.id, first: 5 }, { token: stranger.token });
    expect(refused.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const viewer = await person(server, 'subject-viewer', { orgId: orgB, role: 'viewer' });
    expect((await allPagesAbout(viewer.token, 5)).nodes).toEqual([]);
  });

  it('costs the same number of SQL statements for a page of 2 as for a page of 11', async () => {
    const statements = server.gateway.database.statements;
    const costOf = async (first: number) => {
      const before = statements.total;
      const data = await ok(ABOUT, { id: subject.id, first }, owner.token);
      return { count: statements.total - before, edges: data.user.auditLogsAbout.edges.length };
    };
    await costOf(2); // warms per-process caches, if any
    const small = await costOf(2);
    const large = await costOf(SCRIPT_EVENTS.distinct);
    expect(small.edges).toBe(2);
    expect(large.edges).toBe(SCRIPT_EVENTS.distinct);
    expect(large.count).toBe(small.count);
  });
});
