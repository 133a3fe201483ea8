import { parse } from 'csv-parse/sync';
import { createOrgAs, createUser, MEMBER_PASSWORD, person, roleId, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let orgId: string;
let owner: Person;
let admin: Person;
let viewer: Person;

const IMPORT = `mutation ($orgId: ID!, $csv: String!) {
  importUsers(orgId: $orgId, csv: $csv) { created updated failed { line error } }
}`;
const EXPORT = 'query ($orgId: ID!, $kind: PrincipalKind) { exportUsers(orgId: $orgId, kind: $kind) }';
const EXPORT_HEADER = 'email,firstName,lastName,role,groups,teams,status,kind,customerId,createdAt,lastLoginAt';
const STRONG_PASSWORD = 'imported passphrase 42';

const importAs = (token: string, csv: string, org = orgId) => server.graphql(IMPORT, { orgId: org, csv }, { token });
const exportAs = (token: string, kind?: string, org = orgId) => server.graphql(EXPORT, { orgId: org, kind }, { token });

async function importOk(token: string, csv: string, org = orgId) {
  const response = await importAs(token, csv, org);
  expect(response.errors).toBeUndefined();
  return response.data.importUsers as {
    created: number;
    updated: number;
    failed: Array<{ line: number; error: string }>;
  };
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
  return server.sql(
    `SELECT target_id, changes FROM audit_logs WHERE action = 'user.imported' AND org_id = $1 ORDER BY seq`,
    [org],
  );
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
  server = await startTestGateway();
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

    const result = await importOk(admin.token, csv);

    expect(result).toEqual({
      created: 3,
      updated: 1,
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
    expect(await importOk(admin.token, first.join('\n'))).toEqual({ created: 2, updated: 0, failed: [] });
    const auditsBefore = (await importAudits()).length;

    const second = [
      'email,firstName,lastName,role,groups',
      'ANN@example.com,Ann,New,editor,Support',
      'bob@example.com,Bob,Old,viewer,',
    ];
    expect(await importOk(admin.token, second.join('\r\n'))).toEqual({ created: 0, updated: 1, failed: [] });
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

    expect(await importOk(admin.token, second.join('\n'))).toEqual({ created: 0, updated: 0, failed: [] });
    expect(await importAudits()).toHaveLength(auditsBefore + 1);
  });

  it('leaves blank cells and absent columns unchanged for existing members', async () => {
    await importOk(admin.token, 'email,firstName,lastName,role,teams\nkeep@example.com,Kee,Per,editor,Platform');
    expect(await importOk(admin.token, 'email,lastName,role,teams\nkeep@example.com,Keeper,,')).toEqual({
      created: 0,
      updated: 1,
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
      failed: [],
    });
    expect(await memberOf(paused.email)).toMatchObject({ last_name: 'Paused', membership_status: 'DEACTIVATED' });
  });

  it('lets imported users with a password sign in at once', async () => {
    const passwords = [STRONG_PASSWORD, 'a second passphrase 7', 'third one, with a comma'];
    const csv = ['email,password', ...passwords.map((password, i) => `signer${i}@example.com,"${password}"`)].join(
      '\n',
    );
    expect(await importOk(admin.token, csv)).toEqual({ created: 3, updated: 0, failed: [] });
    for (const [i, password] of passwords.entries()) {
      await expect(server.login(`signer${i}@example.com`, password, orgId)).resolves.toBeTruthy();
    }
    const [row] = await server.sql('SELECT password_hash FROM users WHERE email = $1', ['signer0@example.com']);
    expect(row.password_hash).toMatch(/^\$2b\$04\$/);
  });

  it('makes an existing account a member without changing its password or names', async () => {
    const email = 'outsider@example.com';
    await createUser(server, email, { firstName: 'Out', lastName: 'Sider' });
    const result = await importOk(
      admin.token,
      `email,firstName,role,password\n${email},Hijacked,editor,${STRONG_PASSWORD}`,
    );
    expect(result).toEqual({ created: 1, updated: 0, failed: [] });
    expect(await memberOf(email)).toMatchObject({
      first_name: 'Out',
      last_name: 'Sider',
      role: 'editor',
      membership_status: 'ACTIVE',
    });
    await expect(server.login(email, MEMBER_PASSWORD, orgId)).resolves.toBeTruthy();
    await expect(server.login(email, STRONG_PASSWORD)).rejects.toThrow();
  });

  it('refuses a change to the own role, and to the last owner', async () => {
    expect(await importOk(owner.token, `email,role\n${owner.email},admin`)).toEqual({
      created: 0,
      updated: 0,
      failed: [{ line: 2, error: 'You cannot change your own role or membership' }],
    });
    const superUser = await server.login();
    expect(await importOk(superUser.accessToken, `email,role\n${owner.email},admin`)).toEqual({
      created: 0,
      updated: 0,
      failed: [{ line: 2, error: 'An org must keep at least one owner' }],
    });
    expect(await memberOf(owner.email)).toMatchObject({ role: 'owner' });

    const second = await person(server, 'second', { orgId, role: 'owner' });
    expect(await importOk(second.token, `email,role\n${owner.email},admin`)).toEqual({
      created: 0,
      updated: 1,
      failed: [],
    });
    expect(await memberOf(owner.email)).toMatchObject({ role: 'admin' });
    expect(await importOk(second.token, `email,role\n${owner.email},owner`)).toEqual({
      created: 0,
      updated: 1,
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

    expect(result).toEqual({ created: 10_000, updated: 0, failed: [] });
    expect(elapsed).toBeLessThan(60_000);
    const [{ members, grouped, audits }] = await server.sql(
      `SELECT (SELECT count(*)::int FROM memberships WHERE org_id = $1 AND status = 'ACTIVE') AS members,
              (SELECT count(*)::int FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE g.org_id = $1) AS grouped,
              (SELECT count(*)::int FROM audit_logs WHERE org_id = $1 AND action = 'user.imported') AS audits`,
      [bulkOrg],
    );
    expect({ members, grouped, audits }).toEqual({ members: 10_001, grouped: 10_000, audits: 10_000 });
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
    expect(await importOk(owner.token, csv, exportOrg)).toEqual({ created: 5, updated: 0, failed: [] });
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
    expect(await importOk(owner.token, exported, exportOrg)).toEqual({ created: 0, updated: 0, failed: [] });
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

    const response = await importAs(
      recruiter.token,
      `email,firstName,lastName,role\nfresh.recruit@example.com,Fresh,Recruit,viewer\n${existing.email},Changed,Name,viewer\n`,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.importUsers.created).toBe(1);
    expect(response.data.importUsers.updated).toBe(0);
    expect(response.data.importUsers.failed).toEqual([{ line: 3, error: expect.stringContaining('members:update') }]);
    const [row] = await server.sql('SELECT first_name FROM users WHERE id = $1', [existing.id]);
    expect(row.first_name).toBe('renamevictim');
  });
});
