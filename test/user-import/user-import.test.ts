import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import { SMTPServer } from 'smtp-server';
import {
  createOrgAs,
  createUser,
  MEMBER_PASSWORD,
  person,
  roleId,
  uniqueEmail,
  type Person,
} from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startSmtpSink, tokenFrom, type SmtpSink } from '../support/smtp-sink';
import { withOpenedChanges } from '../support/audit-changes';
import { OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';

let sink: SmtpSink;
let server: TestGateway;
let orgId: string;
let owner: Person;
let admin: Person;
let viewer: Person;

const IMPORT = `mutation ($orgId: ID!, $csv: String!) {
  importUsers(orgId: $orgId, csv: $csv) { created updated invited failed { line error } lines { line email status error } }
}`;
const EXPORT = 'query ($orgId: ID!, $kind: PrincipalKind) { exportUsers(orgId: $orgId, kind: $kind) }';
const ACCEPT = `mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { user { id } } }`;
const EXPORT_HEADER = 'email,firstName,lastName,role,groups,teams,status,kind,customerId,createdAt,lastLoginAt';
const STRONG_PASSWORD = 'imported passphrase 42';
const INVITATIONS_PER_EMAIL = 5;

type LineResult = { line: number; email: string | null; status: string; error: string | null };
type ImportResult = {
  created: number;
  updated: number;
  invited: number;
  failed: Array<{ line: number; error: string }>;
  lines: LineResult[];
};

const importAs = (token: string, csv: string, org = orgId) => server.graphql(IMPORT, { orgId: org, csv }, { token });
const exportAs = (token: string, kind?: string, org = orgId) => server.graphql(EXPORT, { orgId: org, kind }, { token });

/** The whole answer, after checking that its totals and its lines tell the same story. */
async function importFull(token: string, csv: string, org = orgId): Promise<ImportResult> {
  const response = await importAs(token, csv, org);
  expect(response.errors).toBeUndefined();
  const result: ImportResult = response.data.importUsers;
  const numbers = result.lines.map((line) => line.line);
  expect(numbers).toEqual([...new Set(numbers)].sort((a, b) => a - b));
  const withStatus = (status: string) => result.lines.filter((line) => line.status === status);
  expect(result.created).toBe(withStatus('CREATED').length);
  expect(result.updated).toBe(withStatus('UPDATED').length);
  expect(result.invited).toBe(withStatus('INVITED').length);
  expect(result.failed).toEqual(withStatus('FAILED').map(({ line, error }) => ({ line, error })));
  for (const line of result.lines) expect(line.error === null).toBe(line.status !== 'FAILED');
  return result;
}

/** The totals of an import. */
async function importOk(token: string, csv: string, org = orgId) {
  const { lines: _lines, ...totals } = await importFull(token, csv, org);
  return totals;
}

/** A member's account and place in the org, or undefined when the email has no account. */
async function memberOf(email: string, org = orgId) {
  const [row] = await server.sql(
    `SELECT u.id, u.first_name, u.last_name, u.kind, u.status, u.customer_id, u.password_hash IS NOT NULL AS has_password,
            r.key AS role, m.status AS membership_status,
            ARRAY(SELECT g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id
                   WHERE gm.user_id = u.id AND g.org_id = $2 ORDER BY g.name) AS groups,
            ARRAY(SELECT t.name FROM team_members tm JOIN teams t ON t.id = tm.team_id
                   WHERE tm.user_id = u.id AND t.org_id = $2 ORDER BY t.name) AS teams
       FROM users u
       LEFT JOIN memberships m ON m.user_id = u.id AND m.org_id = $2
       LEFT JOIN roles r ON r.id = m.role_id
      WHERE lower(u.email) = lower($1)`,
    [email, org],
  );
  return row;
}

async function importAudits(org = orgId): Promise<Array<{ target_id: string; changes: any }>> {
  const rows = await server.sql(
    `SELECT target_id, changes FROM audit_logs WHERE action = 'user.imported' AND org_id = $1 ORDER BY seq`,
    [org],
  );
  return withOpenedChanges(server, rows);
}

/** The messages the SMTP sink received for `email` since message number `since`. */
function mailsTo(email: string, since = 0) {
  return sink.messages
    .slice(since)
    .filter((mail) =>
      [mail.to].flat().some((to) => to?.value.some((entry) => entry.address?.toLowerCase() === email.toLowerCase())),
    );
}

/** What an import must never change on someone else's account. */
async function accountRow(email: string) {
  const [row] = await server.sql(
    `SELECT id, first_name, last_name, kind, customer_id, status, password_hash, password_changed_at, super_user
       FROM users WHERE lower(email) = lower($1)`,
    [email],
  );
  return row;
}

/** The audit actions about these targets in the org, oldest first. */
async function auditsOf(org: string, targetIds: string[]): Promise<Array<{ action: string }>> {
  return server.sql('SELECT action FROM audit_logs WHERE org_id = $1 AND target_id = ANY($2) ORDER BY seq', [
    org,
    targetIds,
  ]);
}

async function addGroup(org: string, name: string, roleKey?: string) {
  const role = roleKey ? await roleId(server, org, roleKey) : null;
  await server.sql('INSERT INTO groups (org_id, name, role_id) VALUES ($1, $2, $3)', [org, name, role]);
}

async function addTeam(org: string, name: string) {
  await server.sql('INSERT INTO teams (org_id, name, slug) VALUES ($1, $2, $3)', [
    org,
    name,
    name.toLowerCase().replace(/\W+/g, '-'),
  ]);
}

beforeAll(async () => {
  sink = await startSmtpSink();
  server = await startTestGateway({
    SMTP_URL: sink.url,
    RATE_LIMIT_INVITATION_MAIL_PER_EMAIL: `${INVITATIONS_PER_EMAIL}/1h`,
  });
  owner = await person(server, 'olivia');
  orgId = await createOrgAs(server, owner.token, 'Import Inc');
  admin = await person(server, 'adrian', { orgId, role: 'admin' });
  viewer = await person(server, 'violet', { orgId, role: 'viewer' });
  await addGroup(orgId, 'Engineering');
  await addGroup(orgId, 'Support', 'viewer');
  await addGroup(orgId, 'Owners club', 'owner');
  await addTeam(orgId, 'Platform');
  await addTeam(orgId, 'Mobile');
});

afterAll(async () => {
  await server.close();
  await sink.close();
});

describe('importUsers', () => {
  it('imports the good lines of a mixed file and reports each bad line with its reason', async () => {
    const peer = await person(server, 'peer', { orgId, role: 'admin' });
    const renamed = await person(server, 'renamed', { orgId, role: 'viewer' });
    const csv = [
      'Email,firstName,LASTNAME,role,groups,teams,password,customerId',
      'new.one@example.com,New,One,editor,Engineering;support,Platform,,',
      'not-an-email,Bad,Email,viewer,,,,',
      'role.typo@example.com,Role,Typo,superadmin,,,,',
      'group.typo@example.com,Group,Typo,viewer,Nonexistent,,,',
      'weak@example.com,Weak,Password,viewer,,,short,',
      'NEW.ONE@example.com,Again,Duplicate,viewer,,,,',
      'wannabe@example.com,Would,Be,owner,,,,',
      `${renamed.email},Renamed,Member,,,,,`,
      '"multi@example.com","Multi',
      'Line",Name,Viewer,,Mobile,,',
      'team.typo@example.com,Team,Typo,,,Nope,,',
      'club@example.com,Club,Member,,Owners club,,,',
      `${peer.email},Peer,Demoted,viewer,,,,`,
      `${owner.email},olivia,,owner,,,,`,
      'customer@example.com,Carla,Customer,,,,,cust-42',
      'common@example.com,Common,Password,,,,qwerty123456,',
    ].join('\n');

    const { lines, ...result } = await importFull(admin.token, csv);

    expect(lines.map(({ line, email, status }) => [line, email, status])).toEqual([
      [2, 'new.one@example.com', 'CREATED'],
      [3, 'not-an-email', 'FAILED'],
      [4, 'role.typo@example.com', 'FAILED'],
      [5, 'group.typo@example.com', 'FAILED'],
      [6, 'weak@example.com', 'FAILED'],
      [7, 'NEW.ONE@example.com', 'FAILED'],
      [8, 'wannabe@example.com', 'FAILED'],
      [9, renamed.email, 'UPDATED'],
      [10, 'multi@example.com', 'CREATED'],
      [12, 'team.typo@example.com', 'FAILED'],
      [13, 'club@example.com', 'FAILED'],
      [14, peer.email, 'FAILED'],
      [15, owner.email, 'UNCHANGED'],
      [16, 'customer@example.com', 'CREATED'],
      [17, 'common@example.com', 'FAILED'],
    ]);
    expect(result).toEqual({
      created: 3,
      updated: 1,
      invited: 0,
      failed: [
        { line: 3, error: 'Invalid email address "not-an-email"' },
        { line: 4, error: 'Unknown role "superadmin"' },
        { line: 5, error: 'Unknown group "Nonexistent"' },
        { line: 6, error: 'Passwords must be at least 12 characters long' },
        { line: 7, error: 'Duplicate email: already on line 2' },
        { line: 8, error: 'You cannot assign the role "owner": it holds permissions you do not have' },
        { line: 12, error: 'Unknown team "Nope"' },
        {
          line: 13,
          error: 'You cannot add members to the group "Owners club": its role holds permissions you do not have',
        },
        { line: 14, error: 'You can only act on members of lower rank' },
        { line: 17, error: 'This password is too common; choose another' },
      ],
    });

    expect(await memberOf('new.one@example.com')).toMatchObject({
      first_name: 'New',
      last_name: 'One',
      kind: 'HUMAN',
      status: 'ACTIVE',
      has_password: false,
      role: 'editor',
      membership_status: 'ACTIVE',
      groups: ['Engineering', 'Support'],
      teams: ['Platform'],
    });
    expect(await memberOf('multi@example.com')).toMatchObject({
      first_name: 'Multi\nLine',
      last_name: 'Name',
      role: 'viewer',
      teams: ['Mobile'],
    });
    expect(await memberOf('customer@example.com')).toMatchObject({
      kind: 'CUSTOMER',
      customer_id: 'cust-42',
      role: 'viewer',
      status: 'ACTIVE',
    });
    expect(await memberOf(renamed.email)).toMatchObject({ first_name: 'Renamed', last_name: 'Member', role: 'viewer' });
    expect(await memberOf(peer.email)).toMatchObject({ first_name: 'peer', last_name: null, role: 'admin' });
    expect(await memberOf(owner.email)).toMatchObject({ role: 'owner' });
    for (const email of ['role.typo', 'group.typo', 'weak', 'wannabe', 'team.typo', 'club', 'common']) {
      expect(await memberOf(`${email}@example.com`)).toBeUndefined();
    }

    const audits = await importAudits();
    expect(audits).toHaveLength(4);
    const created = await memberOf('new.one@example.com');
    expect(audits.find((audit) => audit.target_id === created.id)?.changes).toEqual({
      before: null,
      after: {
        email: 'new.one@example.com',
        customerId: null,
        firstName: 'New',
        lastName: 'One',
        role: 'editor',
        groups: ['Engineering', 'Support'],
        teams: ['Platform'],
      },
    });
    expect(audits.find((audit) => audit.target_id === renamed.id)?.changes).toEqual({
      before: { firstName: 'renamed', lastName: null, role: 'viewer', groups: [], teams: [] },
      after: { firstName: 'Renamed', lastName: 'Member', role: 'viewer', groups: [], teams: [] },
    });
    expect(JSON.stringify(audits)).not.toMatch(/password/i);
  });

  it('updates members on a second import instead of duplicating them, and changes nothing on a third', async () => {
    const first = [
      'email,firstName,lastName,role,groups',
      'ann@example.com,Ann,Old,viewer,Engineering',
      'bob@example.com,Bob,Old,viewer,',
    ];
    expect(await importOk(admin.token, first.join('\n'))).toEqual({ created: 2, updated: 0, invited: 0, failed: [] });
    const auditsBefore = (await importAudits()).length;

    const second = [
      'email,firstName,lastName,role,groups',
      'ANN@example.com,Ann,New,editor,Support',
      'bob@example.com,Bob,Old,viewer,',
    ];
    expect(await importOk(admin.token, second.join('\r\n'))).toEqual({
      created: 0,
      updated: 1,
      invited: 0,
      failed: [],
    });
    expect(await memberOf('ann@example.com')).toMatchObject({
      first_name: 'Ann',
      last_name: 'New',
      role: 'editor',
      groups: ['Support'],
    });
    const ann = await memberOf('ann@example.com');
    const memberships = await server.sql('SELECT count(*)::int AS count FROM memberships WHERE user_id = $1', [ann.id]);
    expect(memberships[0].count).toBe(1);
    expect(await server.sql('SELECT 1 FROM users WHERE lower(email) = $1', ['ann@example.com'])).toHaveLength(1);

    const audits = await importAudits();
    expect(audits).toHaveLength(auditsBefore + 1);
    expect(audits.at(-1)).toEqual({
      target_id: ann.id,
      changes: {
        before: { firstName: 'Ann', lastName: 'Old', role: 'viewer', groups: ['Engineering'], teams: [] },
        after: { firstName: 'Ann', lastName: 'New', role: 'editor', groups: ['Support'], teams: [] },
      },
    });

    const third = await importFull(admin.token, second.join('\n'));
    expect(third).toMatchObject({ created: 0, updated: 0, invited: 0, failed: [] });
    expect(third.lines).toEqual([
      { line: 2, email: 'ANN@example.com', status: 'UNCHANGED', error: null },
      { line: 3, email: 'bob@example.com', status: 'UNCHANGED', error: null },
    ]);
    expect(await importAudits()).toHaveLength(auditsBefore + 1);
  });

  it('leaves blank cells and absent columns unchanged for existing members', async () => {
    await importOk(admin.token, 'email,firstName,lastName,role,teams\nkeep@example.com,Kee,Per,editor,Platform');
    expect(await importOk(admin.token, 'email,lastName,role,teams\nkeep@example.com,Keeper,,')).toEqual({
      created: 0,
      updated: 1,
      invited: 0,
      failed: [],
    });
    expect(await memberOf('keep@example.com')).toMatchObject({
      first_name: 'Kee',
      last_name: 'Keeper',
      role: 'editor',
      teams: ['Platform'],
    });
  });

  it('does not reactivate a deactivated member', async () => {
    const paused = await person(server, 'paused', { orgId, role: 'viewer' });
    await server.sql(`UPDATE memberships SET status = 'DEACTIVATED' WHERE user_id = $1`, [paused.id]);
    expect(await importOk(admin.token, `email,lastName\n${paused.email},Paused`)).toEqual({
      created: 0,
      updated: 1,
      invited: 0,
      failed: [],
    });
    expect(await memberOf(paused.email)).toMatchObject({ last_name: 'Paused', membership_status: 'DEACTIVATED' });
  });

  it('lets imported users with a password sign in at once', async () => {
    const passwords = [STRONG_PASSWORD, 'a second passphrase 7', 'third one, with a comma'];
    const csv = ['email,password', ...passwords.map((password, i) => `signer${i}@example.com,"${password}"`)].join(
      '\n',
    );
    expect(await importOk(admin.token, csv)).toEqual({ created: 3, updated: 0, invited: 0, failed: [] });
    for (const [i, password] of passwords.entries()) {
      await expect(server.login(`signer${i}@example.com`, password, orgId)).resolves.toBeTruthy();
    }
    const [row] = await server.sql('SELECT password_hash FROM users WHERE email = $1', ['signer0@example.com']);
    expect(row.password_hash).toMatch(/^\$2b\$04\$/);
  });

  it("invites an existing account instead of adding it; it joins with the line's role, groups and teams by accepting", async () => {
    const email = 'outsider@example.com';
    await createUser(server, email, { firstName: 'Out', lastName: 'Sider' });
    const before = await accountRow(email);
    const since = sink.messages.length;

    const result = await importFull(
      admin.token,
      `email,firstName,role,groups,teams,password,customerId\nOutsider@Example.com,Hijacked,editor,Support,Platform,${STRONG_PASSWORD},cust-9`,
    );

    expect(result).toEqual({
      created: 0,
      updated: 0,
      invited: 1,
      failed: [],
      lines: [{ line: 2, email: 'Outsider@Example.com', status: 'INVITED', error: null }],
    });
    expect(await memberOf(email)).toMatchObject({ membership_status: null, groups: [], teams: [] });
    expect(await accountRow(email)).toEqual(before);
    await expect(server.login(email, STRONG_PASSWORD)).rejects.toThrow();
    const mail = await sink.waitFor(email, since);
    expect(mail.subject).toBe('You are invited to join Import Inc');
    const [invitation] = await server.sql(
      `SELECT i.id, i.status, i.customer_id, r.key AS role FROM invitations i JOIN roles r ON r.id = i.role_id
        WHERE i.org_id = $1 AND lower(i.email) = $2`,
      [orgId, email],
    );
    expect(invitation).toMatchObject({ status: 'PENDING', customer_id: null, role: 'editor' });
    expect(await auditsOf(orgId, [invitation.id, before.id])).toEqual([{ action: 'invitation.created' }]);

    const outsider = await server.login(email, MEMBER_PASSWORD);
    const accepted = await server.graphql(
      ACCEPT,
      { input: { token: tokenFrom(mail, '/invitations/accept') } },
      { token: outsider.accessToken },
    );
    expect(accepted.errors).toBeUndefined();
    expect(await memberOf(email)).toMatchObject({
      first_name: 'Out',
      last_name: 'Sider',
      kind: 'HUMAN',
      customer_id: null,
      role: 'editor',
      membership_status: 'ACTIVE',
      groups: ['Support'],
      teams: ['Platform'],
    });
  });

  it('refuses to invite with a role or into a group whose role holds more than the caller, and sends nothing', async () => {
    const email = uniqueEmail('aspirant');
    await createUser(server, email);
    const since = sink.messages.length;
    const result = await importFull(
      admin.token,
      `email,role,groups\n${email},owner,\n${email.toUpperCase()},,Owners club`,
    );
    expect(result.lines).toEqual([
      {
        line: 2,
        email,
        status: 'FAILED',
        error: 'You cannot assign the role "owner": it holds permissions you do not have',
      },
      { line: 3, email: email.toUpperCase(), status: 'FAILED', error: 'Duplicate email: already on line 2' },
    ]);
    const club = await importFull(admin.token, `email,groups\n${email},Owners club`);
    expect(club.failed).toEqual([
      {
        line: 2,
        error: 'You cannot add members to the group "Owners club": its role holds permissions you do not have',
      },
    ]);
    expect(await server.sql('SELECT 1 FROM invitations WHERE lower(email) = $1', [email])).toHaveLength(0);
    expect(mailsTo(email, since)).toHaveLength(0);
    expect(await memberOf(email)).toMatchObject({ membership_status: null });
  });

  it('replaces a pending invitation when the same account is imported again', async () => {
    const email = uniqueEmail('twice');
    await createUser(server, email);
    const since = sink.messages.length;
    expect(await importOk(admin.token, `email,role\n${email},viewer`)).toMatchObject({ invited: 1 });
    const first = await sink.waitFor(email, since);
    expect(await importOk(admin.token, `email,role\n${email},editor`)).toMatchObject({ invited: 1 });
    const second = await sink.waitFor(email, sink.messages.indexOf(first) + 1);
    const invitations = await server.sql(
      `SELECT i.status, r.key AS role FROM invitations i JOIN roles r ON r.id = i.role_id
        WHERE lower(i.email) = $1 ORDER BY i.created_at`,
      [email],
    );
    expect(invitations).toEqual([
      { status: 'REVOKED', role: 'viewer' },
      { status: 'PENDING', role: 'editor' },
    ]);
    const signedIn = await server.login(email, MEMBER_PASSWORD);
    const stale = await server.graphql(
      ACCEPT,
      { input: { token: tokenFrom(first, '/invitations/accept') } },
      { token: signedIn.accessToken },
    );
    expect(stale.errors?.[0].extensions?.reason).toBe('invitation.invalid_token');
    const current = await server.graphql(
      ACCEPT,
      { input: { token: tokenFrom(second, '/invitations/accept') } },
      { token: signedIn.accessToken },
    );
    expect(current.errors).toBeUndefined();
    expect(await memberOf(email)).toMatchObject({ role: 'editor', membership_status: 'ACTIVE' });
  });

  it('refuses a change to the own role, and to the last owner', async () => {
    expect(await importOk(owner.token, `email,role\n${owner.email},admin`)).toEqual({
      created: 0,
      updated: 0,
      invited: 0,
      failed: [{ line: 2, error: 'You cannot change your own role or membership' }],
    });
    const superUser = await server.login();
    expect(await importOk(superUser.accessToken, `email,role\n${owner.email},admin`)).toEqual({
      created: 0,
      updated: 0,
      invited: 0,
      failed: [{ line: 2, error: 'An org must keep at least one owner' }],
    });
    expect(await memberOf(owner.email)).toMatchObject({ role: 'owner' });

    const second = await person(server, 'second', { orgId, role: 'owner' });
    expect(await importOk(second.token, `email,role\n${owner.email},admin`)).toEqual({
      created: 0,
      updated: 1,
      invited: 0,
      failed: [],
    });
    expect(await memberOf(owner.email)).toMatchObject({ role: 'admin' });
    expect(await importOk(second.token, `email,role\n${owner.email},owner`)).toEqual({
      created: 0,
      updated: 1,
      invited: 0,
      failed: [],
    });
  });

  it('numbers lines from the file, counting line breaks inside quoted fields and blank lines', async () => {
    const csv = ['email,firstName', '', '"crlf@example.com","Two\r\nLines"', 'bad-email,X', '', '"a@b", y'].join(
      '\r\n',
    );
    const result = await importOk(admin.token, csv);
    expect(result.failed).toEqual([
      { line: 5, error: 'Invalid email address "bad-email"' },
      { line: 7, error: 'Invalid email address "a@b"' },
    ]);
    expect(await memberOf('crlf@example.com')).toMatchObject({ first_name: 'Two\r\nLines' });
  });

  it('rejects a file without a header, with unknown columns, or with too many rows', async () => {
    const headless = await importAs(admin.token, 'someone@example.com,Some,One');
    expect(headless.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'import.invalid_csv',
      field: 'csv',
    });
    expect(headless.errors?.[0].message).toContain('Unknown columns "someone@example.com", "Some", "One"');

    const unknown = await importAs(admin.token, 'email,nickname\nnick@example.com,Nick');
    expect(unknown.errors?.[0].extensions).toMatchObject({ reason: 'import.invalid_csv' });
    expect(unknown.errors?.[0].message).toContain('Unknown column "nickname"');

    const noEmail = await importAs(admin.token, 'firstName\nNo');
    expect(noEmail.errors?.[0].message).toBe('The header has no email column');
    expect((await importAs(admin.token, '')).errors?.[0].extensions?.reason).toBe('import.invalid_csv');
    expect((await importAs(admin.token, 'email\n"unterminated@example.com')).errors?.[0].extensions?.reason).toBe(
      'import.invalid_csv',
    );

    const tooMany = await importAs(
      admin.token,
      ['email', ...Array.from({ length: 10_001 }, (_, i) => `x${i}@t.co`)].join('\n'),
    );
    expect(tooMany.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'import.too_large' });
    expect(await server.sql(`SELECT 1 FROM users WHERE email IN ('x0@t.co', 'nick@example.com')`)).toHaveLength(0);
  });

  it('imports 10,000 lines in one call within a minute', async () => {
    const bulkOrg = await createOrgAs(server, owner.token, 'Bulk Co');
    await addGroup(bulkOrg, 'Everyone');
    const lines = Array.from(
      { length: 10_000 },
      (_, i) => `bulk.user${i}@example.com,First${i},Last${i},viewer,Everyone`,
    );
    const csv = ['email,firstName,lastName,role,groups', ...lines].join('\n');

    const started = Date.now();
    const result = await importOk(owner.token, csv, bulkOrg);
    const elapsed = Date.now() - started;
    console.log(`imported 10,000 lines (${Math.round(csv.length / 1024)} KB) in ${elapsed} ms`);

    expect(result).toEqual({ created: 10_000, updated: 0, invited: 0, failed: [] });
    expect(elapsed).toBeLessThan(60_000);
    const [{ members, grouped, audits }] = await server.sql(
      `SELECT (SELECT count(*)::int FROM memberships WHERE org_id = $1 AND status = 'ACTIVE') AS members,
              (SELECT count(*)::int FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE g.org_id = $1) AS grouped,
              (SELECT count(*)::int FROM audit_logs WHERE org_id = $1 AND action = 'user.imported') AS audits`,
      [bulkOrg],
    );
    expect({ members, grouped, audits }).toEqual({ members: 10_001, grouped: 10_000, audits: 10_000 });
    // The lines' events are appended together at the end: the chain still links every one.
    const verified = await server.graphql(
      'query ($o: ID) { verifyAuditChain(orgId: $o) { valid checked } }',
      { o: bulkOrg },
      { token: owner.token },
    );
    expect(verified.data.verifyAuditChain).toMatchObject({ valid: true });
  }, 120_000);
});

describe('exportUsers', () => {
  const hostile = [
    { email: 'comma@example.com', firstName: 'Smith, John', lastName: 'He said "hi"' },
    { email: 'newline@example.com', firstName: 'Line\nBreak', lastName: 'Carriage\r\nReturn' },
    { email: 'formula@example.com', firstName: `=cmd|' /C calc'!A0`, lastName: '+1' },
    { email: 'minus@example.com', firstName: '-2', lastName: '@SUM(1)' },
  ];
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  const neutralised = (value: string) => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
  let exportOrg: string;

  beforeAll(async () => {
    exportOrg = await createOrgAs(server, owner.token, 'Export Ltd');
    await addGroup(exportOrg, '-Ops');
    await addTeam(exportOrg, 'Blue, Green');
    const csv = [
      'email,firstName,lastName,groups,teams,customerId',
      ...hostile.map((user) =>
        [user.email, quote(user.firstName), quote(user.lastName), '-Ops', quote('Blue, Green'), ''].join(','),
      ),
      `client@example.com,Cli,Ent,,,${quote('=HYPERLINK("x")')}`,
    ].join('\n');
    expect(await importOk(owner.token, csv, exportOrg)).toEqual({ created: 5, updated: 0, invited: 0, failed: [] });
  });

  it('writes RFC 4180 CSV, ordered by email, whose formula-like cells are neutralised', async () => {
    const auditsBefore = await server.sql('SELECT count(*)::int AS count FROM audit_logs');
    const response = await exportAs(owner.token, undefined, exportOrg);
    expect(response.errors).toBeUndefined();
    const csv: string = response.data.exportUsers;
    expect(csv.startsWith(`${EXPORT_HEADER}\r\n`)).toBe(true);

    const rows: Array<Record<string, string>> = parse(csv, { columns: true });
    expect(rows.map((row) => row.email)).toEqual([
      'client@example.com',
      'comma@example.com',
      'formula@example.com',
      'minus@example.com',
      'newline@example.com',
      owner.email,
    ]);
    for (const user of hostile) {
      const row = rows.find((candidate) => candidate.email === user.email)!;
      expect(row.firstName).toBe(neutralised(user.firstName));
      expect(row.lastName).toBe(neutralised(user.lastName));
      expect(row).toMatchObject({
        role: 'viewer',
        groups: "'-Ops",
        teams: 'Blue, Green',
        status: 'ACTIVE',
        kind: 'HUMAN',
        lastLoginAt: '',
      });
      expect(new Date(row.createdAt).getTime()).not.toBeNaN();
    }
    expect(rows.find((row) => row.email === 'formula@example.com')!.firstName).toBe(`'=cmd|' /C calc'!A0`);
    expect(rows.find((row) => row.email === 'client@example.com')).toMatchObject({
      kind: 'CUSTOMER',
      customerId: `'=HYPERLINK("x")`,
    });
    expect(await server.sql('SELECT count(*)::int AS count FROM audit_logs')).toEqual(auditsBefore);
  });

  it('filters by kind', async () => {
    const response = await exportAs(owner.token, 'CUSTOMER', exportOrg);
    const rows = parse(response.data.exportUsers, { columns: true });
    expect(rows.map((row: any) => row.email)).toEqual(['client@example.com']);
  });

  it('can be imported back unchanged', async () => {
    const exported = (await exportAs(owner.token, undefined, exportOrg)).data.exportUsers;
    expect(await importOk(owner.token, exported, exportOrg)).toEqual({
      created: 0,
      updated: 0,
      invited: 0,
      failed: [],
    });
  });
});

describe('service accounts', () => {
  it('are exported with an empty email, and an import reports their lines', async () => {
    const org = await createOrgAs(server, owner.token, 'Robots');
    const [robot] = await server.sql(
      `INSERT INTO users (kind, first_name) VALUES ('SERVICE_ACCOUNT', 'Robot') RETURNING id`,
    );
    await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [
      org,
      robot.id,
      await roleId(server, org, 'viewer'),
    ]);
    const exported = (await exportAs(owner.token, 'SERVICE_ACCOUNT', org)).data.exportUsers;
    expect(parse(exported, { columns: true })).toMatchObject([
      { email: '', firstName: 'Robot', kind: 'SERVICE_ACCOUNT' },
    ]);
    expect(await importOk(owner.token, exported, org)).toEqual({
      created: 0,
      updated: 0,
      invited: 0,
      failed: [
        { line: 2, error: 'An email address is required (service accounts, which have none, cannot be imported)' },
      ],
    });
  });
});

describe('who may import and export', () => {
  let stranger: Person;
  let editor: Person;

  beforeAll(async () => {
    stranger = await person(server, 'stranger');
    await createOrgAs(server, stranger.token, 'Elsewhere');
    editor = await person(server, 'edith', { orgId, role: 'editor' });
  });

  it('refuses a viewer or an editor the import, but lets them export', async () => {
    for (const caller of [viewer, editor]) {
      expect(errorCode(await importAs(caller.token, 'email\nsneaky@example.com'))).toBe('FORBIDDEN');
      expect((await exportAs(caller.token)).errors).toBeUndefined();
    }
    expect(await memberOf('sneaky@example.com')).toBeUndefined();
  });

  it('answers NOT_FOUND to a caller from another org', async () => {
    expect(errorCode(await importAs(stranger.token, 'email\nsneaky@example.com'))).toBe('NOT_FOUND');
    expect(errorCode(await exportAs(stranger.token))).toBe('NOT_FOUND');
  });

  it('answers UNAUTHENTICATED to an anonymous caller', async () => {
    expect(errorCode(await server.graphql(IMPORT, { orgId, csv: 'email\nsneaky@example.com' }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(errorCode(await server.graphql(EXPORT, { orgId }))).toBe('UNAUTHENTICATED');
    expect(await memberOf('sneaky@example.com')).toBeUndefined();
  });
});

describe('who may change existing members through import', () => {
  it('lets a viewer-plus-members:invite role add people but not change existing members', async () => {
    const [inviterRole] = await server.sql(
      `INSERT INTO roles (org_id, key, name, permissions) VALUES ($1, 'recruiter', 'Recruiter', '{org:read,members:read,teams:read,groups:read,roles:read,resources:read,members:invite}') RETURNING id`,
      [orgId],
    );
    const recruiter = await person(server, 'recruiter');
    await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [
      orgId,
      recruiter.id,
      inviterRole.id,
    ]);
    const existing = await person(server, 'renamevictim', { orgId, role: 'viewer' });
    const outsider = uniqueEmail('scouted');
    await createUser(server, outsider);

    const response = await importAs(
      recruiter.token,
      `email,firstName,lastName,role\nfresh.recruit@example.com,Fresh,Recruit,viewer\n${existing.email},Changed,Name,viewer\n${outsider},Out,Sider,viewer\n`,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.importUsers.created).toBe(1);
    expect(response.data.importUsers.updated).toBe(0);
    expect(response.data.importUsers.invited).toBe(1);
    expect(response.data.importUsers.failed).toEqual([{ line: 3, error: expect.stringContaining('members:update') }]);
    const [row] = await server.sql('SELECT first_name FROM users WHERE id = $1', [existing.id]);
    expect(row.first_name).toBe('renamevictim');
  });
});

describe('no membership without consent', () => {
  const SET_PASSWORD =
    'mutation ($userId: ID!, $password: String!) { setPassword(userId: $userId, password: $password) }';
  const ATTACKER_PASSWORD = 'attacker chosen passphrase';

  /** Issue 10, finding 1: any signed-in user creates an org and imports someone else's email. */
  async function importIntoOwnOrg(victim: { id: string; email: string }) {
    const attacker = await person(server, 'mallory');
    const trap = await createOrgAs(server, attacker.token, `Trap ${uniqueEmail('org')}`);
    const before = await accountRow(victim.email);
    const since = sink.messages.length;

    const result = await importFull(
      attacker.token,
      `email,firstName,role,password,customerId\n${victim.email},Owned,admin,${ATTACKER_PASSWORD},cust-evil`,
      trap,
    );

    expect(result).toEqual({
      created: 0,
      updated: 0,
      invited: 1,
      failed: [],
      lines: [{ line: 2, email: victim.email, status: 'INVITED', error: null }],
    });
    expect(
      await server.sql('SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2', [trap, victim.id]),
    ).toHaveLength(0);
    expect(
      await server.sql('SELECT action FROM audit_logs WHERE org_id = $1 AND action = $2', [trap, 'user.imported']),
    ).toHaveLength(0);
    const mail = await sink.waitFor(victim.email, since);

    const setPassword = await server.graphql(
      SET_PASSWORD,
      { userId: victim.id, password: ATTACKER_PASSWORD },
      { token: attacker.token },
    );
    expect(setPassword.errors).toBeDefined();
    expect(await accountRow(victim.email)).toEqual(before);
    await expect(server.login(victim.email, ATTACKER_PASSWORD)).rejects.toThrow();
    return { trap, mail };
  }

  it('only invites a super user, whose account stays untouched', async () => {
    const [superUser] = await server.sql(`SELECT id, email FROM users WHERE super_user ORDER BY created_at LIMIT 1`);
    await importIntoOwnOrg(superUser);
    const signedIn = await server.login(superUser.email, OWNER_PASSWORD);
    const me = await server.graphql('{ me { superUser } }', {}, { token: signedIn.accessToken });
    expect(me.data.me.superUser).toBe(true);
  });

  it("only invites a member of other orgs; accepting the email while signed in joins with the line's role", async () => {
    const victim = await person(server, 'victim', { orgId, role: 'viewer' });
    const elsewhere = await createOrgAs(server, victim.token, `Victim's own ${uniqueEmail('org')}`);
    const { trap, mail } = await importIntoOwnOrg(victim);

    const accepted = await server.graphql(
      ACCEPT,
      { input: { token: tokenFrom(mail, '/invitations/accept') } },
      { token: victim.token },
    );
    expect(accepted.errors).toBeUndefined();
    expect(await memberOf(victim.email, trap)).toMatchObject({
      first_name: 'victim',
      kind: 'HUMAN',
      customer_id: null,
      role: 'admin',
      membership_status: 'ACTIVE',
    });
    expect(await memberOf(victim.email, elsewhere)).toMatchObject({ role: 'owner' });
    await expect(server.login(victim.email, MEMBER_PASSWORD)).resolves.toBeTruthy();
  });

  it("counts every invitation against the address's limit, which invite shares (no mail bombing)", async () => {
    const bomber = await person(server, 'bomber');
    const trap = await createOrgAs(server, bomber.token, `Bombs ${uniqueEmail('org')}`);
    const target = uniqueEmail('target');
    await createUser(server, target);
    const since = sink.messages.length;
    for (let attempt = 0; attempt < INVITATIONS_PER_EMAIL; attempt++) {
      expect(await importOk(bomber.token, `email\n${target}`, trap)).toMatchObject({ invited: 1 });
    }

    const fresh = uniqueEmail('fresh');
    const refused = await importFull(bomber.token, `email\n${target}\n${fresh}`, trap);
    expect(refused.lines).toEqual([
      {
        line: 2,
        email: target,
        status: 'FAILED',
        error: expect.stringMatching(/^Not invited: this address has had too many invitations; try again in \d+ s$/),
      },
      { line: 3, email: fresh, status: 'CREATED', error: null },
    ]);
    const invite = await server.graphql(
      'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
      { input: { orgId: trap, email: target, roleId: await roleId(server, trap, 'viewer') } },
      { token: bomber.token },
    );
    expect(errorCode(invite)).toBe('RATE_LIMITED');
    expect(mailsTo(target, since)).toHaveLength(INVITATIONS_PER_EMAIL);
  });

  it('reports every line of a mixed file with its status, and totals that agree', async () => {
    const outsider = uniqueEmail('outsider');
    await createUser(server, outsider);
    const renamed = await person(server, 'tobe', { orgId, role: 'viewer' });
    const steady = await person(server, 'steady', { orgId, role: 'viewer' });
    const fresh = uniqueEmail('fresh');
    const csv = [
      'email,firstName,lastName',
      `${fresh},Fresh,Person`,
      `${outsider},Not,Mine`,
      `${renamed.email},Now,Renamed`,
      `${steady.email},steady,`,
      'one,field,too,many',
      'not-an-email,,',
    ].join('\n');

    expect(await importFull(admin.token, csv)).toEqual({
      created: 1,
      updated: 1,
      invited: 1,
      failed: [
        { line: 6, error: 'Expected 3 fields as in the header, found 4' },
        { line: 7, error: 'Invalid email address "not-an-email"' },
      ],
      lines: [
        { line: 2, email: fresh, status: 'CREATED', error: null },
        { line: 3, email: outsider, status: 'INVITED', error: null },
        { line: 4, email: renamed.email, status: 'UPDATED', error: null },
        { line: 5, email: steady.email, status: 'UNCHANGED', error: null },
        { line: 6, email: null, status: 'FAILED', error: 'Expected 3 fields as in the header, found 4' },
        { line: 7, email: 'not-an-email', status: 'FAILED', error: 'Invalid email address "not-an-email"' },
      ],
    });
    expect(await memberOf(outsider)).toMatchObject({ first_name: null, membership_status: null });
  });
});

describe('when the mail server refuses an invitation', () => {
  let failing: TestGateway;
  let refusing: SMTPServer;
  const recipientsTried: string[] = [];

  beforeAll(async () => {
    refusing = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        recipientsTried.push(address.address.toLowerCase());
        callback(new Error('mailbox unavailable'));
      },
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const { port } = refusing.server.address() as AddressInfo;
    failing = await startTestGateway({ SMTP_URL: `smtp://127.0.0.1:${port}` });
  });

  afterAll(async () => {
    await failing.close();
    await new Promise<void>((resolve) => refusing.close(() => resolve()));
  });

  it('fails that line alone, and does not try the later invitations of the file', async () => {
    const importer = await person(failing, 'importer');
    const org = await createOrgAs(failing, importer.token, 'Mailless');
    const [first, second] = [uniqueEmail('first'), uniqueEmail('second')];
    await createUser(failing, first);
    await createUser(failing, second);
    const [newOne, newTwo] = [uniqueEmail('new'), uniqueEmail('new')];

    const response = await failing.graphql(
      IMPORT,
      { orgId: org, csv: ['email', first, newOne, second, newTwo].join('\n') },
      { token: importer.token },
    );

    expect(response.errors).toBeUndefined();
    expect(response.data.importUsers).toMatchObject({ created: 2, updated: 0, invited: 0 });
    expect(response.data.importUsers.lines).toEqual([
      {
        line: 2,
        email: first,
        status: 'FAILED',
        error: 'The invitation email could not be sent; import this line again later',
      },
      { line: 3, email: newOne, status: 'CREATED', error: null },
      {
        line: 4,
        email: second,
        status: 'FAILED',
        error: 'Not invited: the mail server failed on line 2; import this line again later',
      },
      { line: 5, email: newTwo, status: 'CREATED', error: null },
    ]);
    expect(recipientsTried).toEqual([first]);
    expect(await failing.sql('SELECT 1 FROM invitations WHERE org_id = $1', [org])).toHaveLength(0);
    expect(
      await failing.sql(`SELECT 1 FROM audit_logs WHERE org_id = $1 AND action = 'invitation.created'`, [org]),
    ).toHaveLength(0);
    const members = await failing.sql(
      'SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY u.email',
      [org],
    );
    expect(members.map((row) => row.email).sort()).toEqual([importer.email, newOne, newTwo].sort());
  });
});

describe('invitations from one client address', () => {
  const INVITATIONS_PER_ADDRESS = 3;
  let limited: TestGateway;

  beforeAll(async () => {
    limited = await startTestGateway({
      SMTP_URL: sink.url,
      TRUST_PROXY: '1',
      RATE_LIMIT_INVITE_PER_IP: `${INVITATIONS_PER_ADDRESS}/1h`,
    });
  });

  afterAll(async () => {
    await limited.close();
  });

  it("counts each invitation of an import against the caller's address, which invite shares", async () => {
    const importer = await person(limited, 'importer');
    const org = await createOrgAs(limited, importer.token, 'Many invitations');
    const existing = Array.from({ length: INVITATIONS_PER_ADDRESS + 2 }, () => uniqueEmail('existing'));
    for (const email of existing) await createUser(limited, email);
    const fresh = uniqueEmail('fresh');
    const since = sink.messages.length;
    // Through one trusted proxy, which appended the client's address.
    const fromAddress = (address: string) => ({ token: importer.token, headers: { 'x-forwarded-for': address } });
    const importFrom = (address: string, emails: string[]) =>
      limited.graphql(IMPORT, { orgId: org, csv: ['email', ...emails].join('\n') }, fromAddress(address));

    const first = await importFrom('203.0.113.1', [...existing, fresh]);
    expect(first.errors).toBeUndefined();
    const overLimit = /^Not invited: too many invitations have been sent from your address; try again in \d+ s$/;
    expect(first.data.importUsers.lines).toEqual([
      ...existing.map((email, index) => ({
        line: index + 2,
        email,
        status: index < INVITATIONS_PER_ADDRESS ? 'INVITED' : 'FAILED',
        error: index < INVITATIONS_PER_ADDRESS ? null : expect.stringMatching(overLimit),
      })),
      { line: existing.length + 2, email: fresh, status: 'CREATED', error: null },
    ]);
    const invite = await limited.graphql(
      'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
      { input: { orgId: org, email: uniqueEmail('invitee'), roleId: await roleId(limited, org, 'viewer') } },
      fromAddress('203.0.113.1'),
    );
    expect(errorCode(invite)).toBe('RATE_LIMITED');

    // Another address has its own allowance.
    const second = await importFrom('203.0.113.2', existing.slice(INVITATIONS_PER_ADDRESS));
    expect(second.data.importUsers).toMatchObject({ invited: 2, failed: [] });
    await sink.waitFor(existing[existing.length - 1], since);
    for (const email of existing) expect(mailsTo(email, since)).toHaveLength(1);
  });
});
