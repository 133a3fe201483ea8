import type { AuditActor } from '../../src/core/audit/audit';
import {
  addMember,
  createOrgAs,
  createUser,
  MEMBER_PASSWORD,
  person,
  uniqueEmail,
  type Person,
} from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * Account events (locks, passwords, sign-ins, profile changes) reach the auditors of every org the
 * account belongs to: one record in the account chain and one in each of those orgs' chains, all
 * sharing an event id, each org's record saying nothing about another org.
 */

let server: TestGateway;
let superUser: { token: string; id: string };
let acmeId: string;
let adminA: Person;
let adminB: Person;
let orgA: string;
let orgB: string;

const FIRST_PASSWORD = 'a first passphrase set by an admin';
const SECOND_PASSWORD = 'the member picks another passphrase';

const SUBJECT_LOGS = `query ($orgId: ID, $subject: ID!) {
  auditLogs(orgId: $orgId, first: 100, filter: { subjectUserId: $subject }) {
    edges { node { id action eventId subjectUserId actorKind ipAddress userAgent org { id } actor { id } } }
  }
}`;

type Node = {
  id: string;
  action: string;
  eventId: string;
  subjectUserId: string;
  actorKind: string;
  ipAddress: string | null;
  userAgent: string | null;
  org: { id: string } | null;
  actor: { id: string } | null;
};

async function ok(query: string, variables: Record<string, unknown>, token: string, headers = {}) {
  const response = await server.graphql(query, variables, { token, headers });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

async function aboutSubject(token: string, orgId: string | null, subject: string): Promise<Node[]> {
  const data = await ok(SUBJECT_LOGS, { orgId, subject }, token);
  return data.auditLogs.edges.map((edge: { node: Node }) => edge.node);
}

async function verify(token: string, orgId: string | null) {
  const data = await ok(
    'query ($orgId: ID) { verifyAuditChain(orgId: $orgId) { valid checked reason } }',
    { orgId },
    token,
  );
  return data.verifyAuditChain;
}

const lock = (token: string, userId: string) =>
  ok('mutation ($id: ID!) { lock(userId: $id, reason: "audit test") { id } }', { id: userId }, token, {
    'user-agent': 'admin-browser/1.0',
  });
const unlock = (token: string, userId: string) =>
  ok('mutation ($id: ID!) { unlock(userId: $id) { id } }', { id: userId }, token);

/** A member of both orgs with no history yet: inserted directly, so nothing about them is audited. */
async function memberOfBoth(name: string, orgs: string[]): Promise<{ id: string; email: string }> {
  const email = uniqueEmail(name);
  const id = await createUser(server, email, { firstName: name });
  for (const orgId of orgs) await addMember(server, orgId, id, 'viewer');
  return { id, email };
}

beforeAll(async () => {
  server = await startTestGateway();
  const signedIn = await server.login();
  superUser = { token: signedIn.accessToken, id: signedIn.userId };
  [{ id: acmeId }] = await server.sql(`SELECT id FROM orgs WHERE slug = 'acme'`);
  adminA = await person(server, 'events-admin-a');
  orgA = await createOrgAs(server, adminA.token, 'Events A');
  adminB = await person(server, 'events-admin-b');
  orgB = await createOrgAs(server, adminB.token, 'Events B');
  // Authority over an account needs a higher rank in every org it belongs to.
  await addMember(server, orgB, adminA.id, 'admin');
});

afterAll(async () => {
  await server.close();
});

describe('account events', () => {
  it('reach every org of the account once per event, and every chain verifies', async () => {
    const member = await memberOfBoth('events-member', [orgA, orgB]);
    await lock(adminA.token, member.id);
    await unlock(adminA.token, member.id);
    await ok(
      'mutation ($id: ID!, $p: String!) { setPassword(userId: $id, password: $p) }',
      { id: member.id, p: FIRST_PASSWORD },
      adminA.token,
    );
    const first = await server.login(member.email, FIRST_PASSWORD);
    await ok(
      'mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }',
      { c: FIRST_PASSWORD, n: SECOND_PASSWORD },
      first.accessToken,
    );
    const failed = await server.graphql(
      'mutation ($e: String!) { login(email: $e, password: "wrong") { accessToken } }',
      {
        e: member.email,
      },
    );
    expect(errorCode(failed)).toBe('UNAUTHENTICATED');
    await server.login(member.email, SECOND_PASSWORD);

    const expected = [
      'session.login',
      'session.login_failed',
      'user.password_changed',
      'session.login',
      'user.password_set',
      'user.unlocked',
      'user.locked',
    ];
    const inA = await aboutSubject(adminA.token, orgA, member.id);
    const inB = await aboutSubject(adminB.token, orgB, member.id);
    expect(inA.map((node) => node.action)).toEqual(expected);
    expect(inB.map((node) => node.action)).toEqual(expected);
    expect(inA.every((node) => node.org?.id === orgA && node.subjectUserId === member.id)).toBe(true);
    expect(inB.every((node) => node.org?.id === orgB)).toBe(true);
    // One event, one id: each org holds it once, and both hold the same events.
    const eventsOf = (nodes: Node[]) => nodes.map((node) => node.eventId);
    expect(new Set(eventsOf(inA)).size).toBe(expected.length);
    expect(eventsOf(inB)).toEqual(eventsOf(inA));

    // A super user reads all three copies: the account chain's and each org's.
    const everywhere = await aboutSubject(superUser.token, null, member.id);
    expect(everywhere).toHaveLength(expected.length * 3);
    const accountRows = everywhere.filter((node) => node.org === null);
    expect(eventsOf(accountRows)).toEqual(eventsOf(inA));
    const copies = await server.sql(
      `SELECT event_id, count(*)::int AS rows, count(DISTINCT coalesce(org_id::text, '-'))::int AS chains
         FROM audit_logs WHERE subject_user_id = $1 GROUP BY event_id`,
      [member.id],
    );
    expect(copies).toHaveLength(expected.length);
    expect(copies.every((row) => row.rows === 3 && row.chains === 3)).toBe(true);

    // The admin is a member of both orgs: both see who acted, from where.
    const locked = inB.find((node) => node.action === 'user.locked')!;
    expect(locked).toMatchObject({ actorKind: 'HUMAN', actor: { id: adminA.id }, userAgent: 'admin-browser/1.0' });

    expect(await verify(adminA.token, orgA)).toMatchObject({ valid: true, reason: null });
    expect(await verify(adminB.token, orgB)).toMatchObject({ valid: true, reason: null });
    expect(await verify(superUser.token, null)).toMatchObject({ valid: true, reason: null });
  });

  it('an event about an account in no org stays in the account chain', async () => {
    const loner = await person(server, 'events-loner');
    const rows = await server.sql('SELECT org_id, event_id FROM audit_logs WHERE subject_user_id = $1', [loner.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].org_id).toBeNull();
    expect(rows[0].event_id).toEqual(expect.any(String));
  });

  it('an org event is one record in its org, with its own event id', async () => {
    const member = await memberOfBoth('events-role', [orgA, orgB]);
    await ok(
      `mutation ($orgId: ID!, $userId: ID!, $roleId: ID!) { changeRole(orgId: $orgId, userId: $userId, roleId: $roleId) { id } }`,
      {
        orgId: orgA,
        userId: member.id,
        roleId: (await server.sql(`SELECT id FROM roles WHERE org_id = $1 AND key = 'editor'`, [orgA]))[0].id,
      },
      adminA.token,
    );
    const rows = await server.sql('SELECT org_id, event_id, action FROM audit_logs WHERE subject_user_id = $1', [
      member.id,
    ]);
    expect(rows).toEqual([{ org_id: orgA, event_id: expect.any(String), action: 'member.role_changed' }]);
  });
});

describe("what another org's record says", () => {
  /** The rows of one event, by chain. */
  async function rowsOfLatestEvent(subject: string, action: string) {
    const rows = await server.sql(
      `SELECT * FROM audit_logs
        WHERE event_id = (SELECT event_id FROM audit_logs WHERE subject_user_id = $1 AND action = $2
                           ORDER BY seq DESC LIMIT 1)`,
      [subject, action],
    );
    const byOrg = (orgId: string | null) => rows.find((row) => row.org_id === orgId);
    return { all: rows, account: byOrg(null), acme: byOrg(acmeId), b: byOrg(orgB) };
  }

  it('shows a super user who is not a member as SUPER_USER, with no id, address, agent or other org', async () => {
    const member = await memberOfBoth('events-shared', [acmeId, orgB]);
    await lock(superUser.token, member.id);
    const { all, account, acme, b } = await rowsOfLatestEvent(member.id, 'user.locked');
    expect(all).toHaveLength(3);
    expect(account).toMatchObject({ actor_id: superUser.id, actor_kind: 'HUMAN', user_agent: 'admin-browser/1.0' });
    expect(acme).toMatchObject({ actor_id: superUser.id, user_agent: 'admin-browser/1.0' });
    expect(b).toMatchObject({
      actor_kind: 'SUPER_USER',
      actor_id: null,
      ip_address: null,
      user_agent: null,
      api_key_id: null,
      subject_user_id: member.id,
    });
    expect(JSON.stringify(b)).not.toContain(acmeId);
    expect(JSON.stringify(b)).not.toContain(superUser.id);

    const seen = (await aboutSubject(adminB.token, orgB, member.id)).find((node) => node.action === 'user.locked');
    expect(seen).toMatchObject({ actorKind: 'SUPER_USER', actor: null, ipAddress: null, userAgent: null });
  });

  it('shows any other outsider as EXTERNAL, without the key of another org', async () => {
    const member = await memberOfBoth('events-external', [acmeId, orgB]);
    const acmeAdmin = await person(server, 'events-acme-admin', { orgId: acmeId, role: 'admin' });
    const [key] = await server.sql(
      `INSERT INTO api_keys (org_id, owner_id, name, prefix, fingerprint, scopes)
       VALUES ($1, $2, 'k', 'pk_test', decode(md5(random()::text), 'hex'), '{}') RETURNING id`,
      [acmeId, acmeAdmin.id],
    );
    // The API lets nobody but a super user act on an account outside their orgs; the writer must
    // hold its rule all the same for whatever calls it (deletion, verification, later acts).
    const actor: AuditActor = {
      actorId: acmeAdmin.id,
      actorKind: 'HUMAN',
      apiKeyId: key.id,
      ipAddress: '203.0.113.7',
      userAgent: 'outsider-agent',
      requestId: 'req-external',
    };
    await server.gateway.database.dataSource.transaction((tx) =>
      server.gateway.services.locking.lock(tx, actor, member.id, null),
    );
    const { account, acme, b } = await rowsOfLatestEvent(member.id, 'user.locked');
    expect(account).toMatchObject({ actor_id: acmeAdmin.id, api_key_id: key.id, ip_address: '203.0.113.7' });
    expect(acme).toMatchObject({ actor_id: acmeAdmin.id, api_key_id: key.id, ip_address: '203.0.113.7' });
    expect(b).toMatchObject({
      actor_kind: 'EXTERNAL',
      actor_id: null,
      api_key_id: null,
      ip_address: null,
      user_agent: null,
      request_id: 'req-external',
    });
    for (const foreign of [acmeId, acmeAdmin.id, key.id]) expect(JSON.stringify(b)).not.toContain(foreign);
  });

  it("keeps a member's own acts in full but strips another org's id from what changed", async () => {
    const member = await memberOfBoth('events-default-org', [acmeId, orgB]);
    const signedIn = await server.login(member.email, MEMBER_PASSWORD, acmeId);
    await ok(
      'mutation ($id: ID!, $org: ID!) { updateUser(id: $id, input: { defaultOrgId: $org }) { id } }',
      { id: member.id, org: acmeId },
      signedIn.accessToken,
    );
    for (const action of ['user.updated', 'session.login']) {
      const { account, acme, b } = await rowsOfLatestEvent(member.id, action);
      expect(JSON.stringify(account.changes)).toContain(acmeId);
      expect(JSON.stringify(acme.changes)).toContain(acmeId);
      expect(b).toMatchObject({ actor_id: member.id, actor_kind: 'HUMAN' });
      expect(JSON.stringify(b)).not.toContain(acmeId);
    }
    const { b } = await rowsOfLatestEvent(member.id, 'user.updated');
    expect(b.changes.before.defaultOrgId).toBeNull();
    expect(b.changes.after).not.toHaveProperty('defaultOrgId');
  });

  it('leaves every chain verifiable', async () => {
    for (const orgId of [acmeId, orgB, null]) {
      expect(await verify(superUser.token, orgId)).toMatchObject({ valid: true, reason: null });
    }
  });
});

describe('concurrent account events', () => {
  it('fan out without deadlock: 20 locks and unlocks of two members of the same two orgs', async () => {
    const members = [
      await memberOfBoth('events-race-1', [orgA, orgB]),
      await memberOfBoth('events-race-2', [orgA, orgB]),
    ];
    const acts = Array.from({ length: 20 }, (_, index) => {
      const target = members[index % 2].id;
      return index % 4 < 2 ? lock(adminA.token, target) : unlock(adminA.token, target);
    });
    const outcomes = await Promise.allSettled(acts);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);

    const rows = await server.sql(
      `SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS events
         FROM audit_logs WHERE subject_user_id = ANY($1::uuid[])`,
      [members.map((member) => member.id)],
    );
    expect(rows[0]).toEqual({ rows: 60, events: 20 });
    for (const orgId of [orgA, orgB, null]) {
      expect(await verify(superUser.token, orgId)).toMatchObject({ valid: true, reason: null });
    }
  });
});
