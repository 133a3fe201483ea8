import { DataSource } from 'typeorm';
import { InvitationsPendingEmailUnique1795852800000 } from '../../migrations/1795852800000-invitations-pending-email-unique';
import { migrations } from '../../src/core/db/migrations';
import { createTestDatabase } from '../support/database';
import { createOrgAs, createUser, person, roleId, uniqueEmail, type Person } from '../support/fixtures';
import type { GraphQLResponse } from '../support/graphql-client';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const INVITE = `mutation ($input: InviteInput!) { invite(input: $input) { id status } }`;
const RESEND = `mutation ($id: ID!) { resendInvitation(id: $id) { id status } }`;
const IMPORT = `mutation ($orgId: ID!, $csv: String!) { importUsers(orgId: $orgId, csv: $csv) { invited lines { status error } } }`;
const PARALLEL = 8;

let sink: SmtpSink;
let server: TestGateway;
let owner: Person;
let orgId: string;

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({
    SMTP_URL: sink.url,
    // Every racing request must reach the service; test/rate-limits covers these limits.
    RATE_LIMIT_INVITATION_MAIL_PER_EMAIL: '100/1h',
    RATE_LIMIT_RESEND_INVITATION_PER_INVITATION: '100/1h',
  });
  owner = await person(server, 'racer');
  orgId = await createOrgAs(server, owner.token, 'Race Org');
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

const invite = async (email: string, role: string) =>
  server.graphql(
    INVITE,
    { input: { orgId, email, roleId: await roleId(server, orgId, role) } },
    { token: owner.token },
  );

const pendingTo = (email: string) =>
  server.sql<{ id: string; token_hash: Buffer; role_key: string }>(
    `SELECT i.id, i.token_hash, r.key AS role_key FROM invitations i JOIN roles r ON r.id = i.role_id
      WHERE i.org_id = $1 AND lower(i.email) = lower($2) AND i.status = 'PENDING'`,
    [orgId, email],
  );

function expectNoServerError(responses: GraphQLResponse[]) {
  for (const response of responses) {
    expect(response.status).toBeLessThan(500);
    for (const error of response.errors ?? []) expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
  }
}

/** Every invitation mail to `email` since `since`, in the order the mail server received them. */
function invitationTokensTo(email: string, since: number): string[] {
  return sink.messages
    .slice(since)
    .filter((mail) => [mail.to].flat().some((to) => to?.text.toLowerCase().includes(email.toLowerCase())))
    .map((mail) => tokenFrom(mail, '/invitations/accept'));
}

/**
 * The one pending invitation must be the one whose mail went out last: each invite mails inside
 * its transaction while holding the address's lock, so the last mail is from the last commit.
 */
async function expectOnlyTheLastMailedInvitationLive(email: string, since: number, mailsExpected: number) {
  const pending = await pendingTo(email);
  expect(pending).toHaveLength(1);
  const tokens = invitationTokensTo(email, since);
  expect(tokens).toHaveLength(mailsExpected);
  const [{ live }] = await server.sql<{ live: string[] }>(
    `SELECT coalesce(array_agg(t.token ORDER BY t.token), '{}') AS live
       FROM unnest($1::text[]) AS t(token) JOIN invitations i ON i.token_hash = sha256(convert_to(t.token, 'UTF8'))
      WHERE i.status = 'PENDING'`,
    [tokens],
  );
  expect(live).toEqual([tokens[tokens.length - 1]]);
  return pending[0];
}

describe('concurrent invitations to one address', () => {
  it(`leaves exactly one pending invitation after ${PARALLEL} parallel invites, the last one committed`, async () => {
    const email = uniqueEmail('raced');
    const roles = ['viewer', 'editor', 'admin', 'viewer', 'editor', 'viewer', 'admin', 'editor'];
    const since = sink.messages.length;
    // Spellings differ in case: one address all the same.
    const responses = await Promise.all(roles.map((role, n) => invite(n % 2 ? email.toUpperCase() : email, role)));
    expectNoServerError(responses);
    const answered = responses.filter((response) => response.data?.invite);
    expect(answered).toHaveLength(PARALLEL);

    const live = await expectOnlyTheLastMailedInvitationLive(email, since, PARALLEL);
    expect(answered.map((response) => response.data.invite.id)).toContain(live.id);
    const [{ revoked }] = await server.sql(
      `SELECT count(*)::int AS revoked FROM invitations WHERE org_id = $1 AND lower(email) = lower($2) AND status = 'REVOKED'`,
      [orgId, email],
    );
    expect(revoked).toBe(PARALLEL - 1);
  });

  it('keeps one pending invitation when resends race a new invite', async () => {
    const email = uniqueEmail('resent');
    const first = (await invite(email, 'viewer')).data.invite.id;
    const since = sink.messages.length;
    const responses = await Promise.all([
      ...Array.from({ length: 3 }, () => server.graphql(RESEND, { id: first }, { token: owner.token })),
      invite(email, 'editor'),
      ...Array.from({ length: 3 }, () => server.graphql(RESEND, { id: first }, { token: owner.token })),
    ]);
    expectNoServerError(responses);
    // Resends after the new invite find the old invitation revoked: CONFLICT, nothing mailed.
    for (const response of responses.filter((r) => r.errors)) {
      expect(response.errors?.[0].extensions?.reason).toBe('invitation.not_pending');
    }
    const mailed = responses.filter((response) => !response.errors).length;
    const live = await expectOnlyTheLastMailedInvitationLive(email, since, mailed);
    expect(live.role_key).toBe('editor');
  });

  it('keeps one pending invitation when imports of an existing account race invites', async () => {
    const email = uniqueEmail('imported');
    await createUser(server, email);
    const since = sink.messages.length;
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, n) =>
        n % 2
          ? invite(email, 'editor')
          : server.graphql(IMPORT, { orgId, csv: `email,role\n${email},viewer\n` }, { token: owner.token }),
      ),
    );
    expectNoServerError(responses);
    for (const response of responses) expect(response.errors).toBeUndefined();
    for (const response of responses.filter((r) => r.data.importUsers)) {
      expect(response.data.importUsers.lines).toEqual([{ status: 'INVITED', error: null }]);
    }
    await expectOnlyTheLastMailedInvitationLive(email, since, PARALLEL);
  });
});

describe('accepting while the address is invited again', () => {
  it('answers every racing accept, invite and import without a server error', async () => {
    const ACCEPT = `mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { user { id } } }`;
    for (let round = 0; round < 6; round++) {
      const invitee = await person(server, `accepting${round}`);
      const since = sink.messages.length;
      expect((await invite(invitee.email, 'viewer')).errors).toBeUndefined();
      const token = tokenFrom(await sink.waitFor(invitee.email, since), '/invitations/accept');
      const responses = await Promise.all([
        server.graphql(IMPORT, { orgId, csv: `email,role\n${invitee.email},editor\n` }, { token: owner.token }),
        server.graphql(ACCEPT, { input: { token } }, { token: invitee.token }),
        invite(invitee.email, 'editor'),
      ]);
      expectNoServerError(responses);
      expect((await pendingTo(invitee.email)).length).toBeLessThanOrEqual(1);
    }
  });
});

describe('the pending-invitation index', () => {
  it('refuses a second pending invitation to one address, whatever writes it', async () => {
    const email = uniqueEmail('indexed');
    const first = (await invite(email, 'viewer')).data.invite.id;
    await expect(
      server.sql(
        `INSERT INTO invitations (org_id, kind, email, role_id, token_hash, expires_at)
         SELECT org_id, 'EMAIL', upper(email), role_id, sha256('another'::bytea), expires_at FROM invitations WHERE id = $1`,
        [first],
      ),
    ).rejects.toThrow(/invitations_pending_email_key/);
  });

  it('is built by a migration that first revokes all but the newest of duplicate pending invitations', async () => {
    const database = await createTestDatabase();
    const dataSource = new DataSource({ type: 'postgres', url: database.url, migrations });
    await dataSource.initialize();
    try {
      await dataSource.runMigrations({ transaction: 'each' });
      const migration = new InvitationsPendingEmailUnique1795852800000();
      const runner = dataSource.createQueryRunner();
      await migration.down(runner);
      const [org] = await dataSource.query(`INSERT INTO orgs (name, slug) VALUES ('Old', 'old') RETURNING id`);
      const [role] = await dataSource.query(
        `INSERT INTO roles (org_id, key, name, permissions) VALUES ($1, 'viewer', 'Viewer', '{}') RETURNING id`,
        [org.id],
      );
      const insert = (email: string, age: string, status = 'PENDING') =>
        dataSource.query(
          `INSERT INTO invitations (org_id, kind, email, role_id, token_hash, expires_at, status, created_at)
           VALUES ($1, 'EMAIL', $2, $3, sha256(gen_random_uuid()::text::bytea), now() + interval '1 day', $4, now() - $5::interval)
           RETURNING id`,
          [org.id, email, role.id, status, age],
        );
      const [[newest], [older], [oldest], [other], [accepted]] = [
        await insert('dup@example.com', '1 minute'),
        await insert('DUP@example.com', '1 hour'),
        await insert('dup@example.com', '1 day'),
        await insert('other@example.com', '1 day'),
        await insert('dup@example.com', '2 days', 'ACCEPTED'),
      ];
      await migration.up(runner);
      const statuses = Object.fromEntries(
        (await dataSource.query(`SELECT id, status FROM invitations`)).map((row: { id: string; status: string }) => [
          row.id,
          row.status,
        ]),
      );
      expect(statuses).toEqual({
        [newest.id]: 'PENDING',
        [older.id]: 'REVOKED',
        [oldest.id]: 'REVOKED',
        [other.id]: 'PENDING',
        [accepted.id]: 'ACCEPTED',
      });
      await runner.release();
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  });
});
