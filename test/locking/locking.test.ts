import { createOrgAs, MEMBER_PASSWORD, person, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let owner: Person;
let admin: Person;
let orgId: string;

const LOCK =
  'mutation ($userId: ID!, $reason: String) { lock(userId: $userId, reason: $reason) { id locked lockReason } }';
const UNLOCK = 'mutation ($userId: ID!) { unlock(userId: $userId) { id locked } }';
const DEACTIVATE = 'mutation ($orgId: ID!, $userId: ID!) { deactivate(orgId: $orgId, userId: $userId) { status } }';
const ACTIVATE = 'mutation ($orgId: ID!, $userId: ID!) { activate(orgId: $orgId, userId: $userId) { status } }';
const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';
const USERS = 'query ($orgId: ID!) { users(orgId: $orgId) { totalCount } }';

const loginAs = (email: string, password = MEMBER_PASSWORD) => server.graphql(LOGIN, { email, password });

beforeAll(async () => {
  server = await startTestGateway({ LOCKOUT_THRESHOLD: '5', LOCKOUT_WINDOW: '15m', LOCKOUT_DURATION: '15m' });
  owner = await person(server, 'lockowner');
  orgId = await createOrgAs(server, owner.token, 'Lock Org');
  admin = await person(server, 'lockadmin', { orgId, role: 'admin' });
});

afterAll(async () => {
  await server.close();
});

describe('deactivate and activate', () => {
  it('cuts an issued token off from the org on the next request, and nothing else of the account', async () => {
    const member = await person(server, 'deact', { orgId, role: 'viewer' });
    expect((await server.graphql(USERS, { orgId }, { token: member.token })).errors).toBeUndefined();

    const response = await server.graphql(DEACTIVATE, { orgId, userId: member.id }, { token: admin.token });
    expect(response.data.deactivate.status).toBe('DEACTIVATED');
    expect(errorCode(await server.graphql(USERS, { orgId }, { token: member.token }))).toBe('NOT_FOUND');
    expect((await server.graphql('{ me { id } }', {}, { token: member.token })).data.me.id).toBe(member.id);
    expect((await loginAs(member.email)).errors).toBeUndefined();

    await server.graphql(ACTIVATE, { orgId, userId: member.id }, { token: admin.token });
    expect((await server.graphql(USERS, { orgId }, { token: member.token })).errors).toBeUndefined();
    const audit = await server.sql(
      `SELECT action FROM audit_logs WHERE target_id = $1 AND action LIKE 'member.%' ORDER BY seq`,
      [member.id],
    );
    expect(audit.map((row) => row.action)).toEqual(['member.deactivated', 'member.activated']);
  });

  it('refuses self-deactivation, outranked targets and the last owner', async () => {
    expect(errorCode(await server.graphql(DEACTIVATE, { orgId, userId: admin.id }, { token: admin.token }))).toBe(
      'FORBIDDEN',
    );
    expect(errorCode(await server.graphql(DEACTIVATE, { orgId, userId: owner.id }, { token: admin.token }))).toBe(
      'FORBIDDEN',
    );
    const superUser = await server.login();
    expect(
      errorCode(await server.graphql(DEACTIVATE, { orgId, userId: owner.id }, { token: superUser.accessToken })),
    ).toBe('CONFLICT');
  });
});

describe('lock and unlock', () => {
  it('refuses an already issued token and sign-in from the next request, and unlock restores sign-in', async () => {
    const member = await person(server, 'locked', { orgId, role: 'editor' });
    const response = await server.graphql(
      LOCK,
      { userId: member.id, reason: 'suspicious activity' },
      { token: admin.token },
    );
    expect(response.data.lock).toMatchObject({ locked: true, lockReason: 'suspicious activity' });
    expect(errorCode(await server.graphql('{ me { id } }', {}, { token: member.token }))).toBe('UNAUTHENTICATED');
    const refused = await loginAs(member.email);
    expect(refused.errors?.[0]).toMatchObject({ message: 'Invalid email or password' });

    expect((await server.graphql(UNLOCK, { userId: member.id }, { token: admin.token })).data.unlock.locked).toBe(
      false,
    );
    expect((await loginAs(member.email)).errors).toBeUndefined();
    // Sessions ended by the lock stay ended.
    expect(errorCode(await server.graphql('{ me { id } }', {}, { token: member.token }))).toBe('UNAUTHENTICATED');
  });

  it('needs members:lock in every org of the target, and rank', async () => {
    const other = await person(server, 'otherowner');
    const otherOrg = await createOrgAs(server, other.token, 'Other Lock Org');
    const both = await person(server, 'both', { orgId, role: 'viewer' });
    await server.sql(
      `INSERT INTO memberships (org_id, user_id, role_id) SELECT $1, $2, id FROM roles WHERE org_id = $1 AND key = 'viewer'`,
      [otherOrg, both.id],
    );
    expect(errorCode(await server.graphql(LOCK, { userId: both.id }, { token: admin.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.graphql(LOCK, { userId: owner.id }, { token: admin.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.graphql(LOCK, { userId: admin.id }, { token: admin.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.graphql(LOCK, { userId: other.id }, { token: admin.token }))).toBe('NOT_FOUND');
    const superUser = await server.login();
    expect((await server.graphql(LOCK, { userId: both.id }, { token: superUser.accessToken })).data.lock.locked).toBe(
      true,
    );
    const viewer = await person(server, 'lockviewer', { orgId, role: 'viewer' });
    expect(errorCode(await server.graphql(UNLOCK, { userId: both.id }, { token: viewer.token }))).toBe('FORBIDDEN');
  });
});

describe('automatic lockout', () => {
  it('locks after N parallel wrong passwords, counting each exactly once, with the same error throughout', async () => {
    const target = await person(server, 'bruteforced');
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        loginAs(i % 2 ? target.email.toUpperCase() : target.email, 'wrong password guess'),
      ),
    );
    for (const attempt of attempts) expect(attempt.errors?.[0].message).toBe('Invalid email or password');
    const [row] = await server.sql('SELECT failed_login_count, locked_until FROM users WHERE id = $1', [target.id]);
    expect(row.failed_login_count).toBe(5);
    expect(new Date(row.locked_until).getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);

    // The right password is refused while locked out, with the same error, and does not extend the lock.
    const correct = await loginAs(target.email);
    expect(correct.errors?.[0]).toMatchObject({
      message: 'Invalid email or password',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const [after] = await server.sql('SELECT failed_login_count, locked_until FROM users WHERE id = $1', [target.id]);
    expect(after.locked_until).toEqual(row.locked_until);
    expect(after.failed_login_count).toBe(5);
    const reasons = await server.sql(
      `SELECT changes->>'reason' AS reason FROM audit_logs WHERE action = 'session.login_failed' AND target_id = $1`,
      [target.id],
    );
    expect(reasons.filter((r) => r.reason === 'wrong_password')).toHaveLength(5);
    expect(reasons.filter((r) => r.reason === 'locked_out')).toHaveLength(4);
  });

  it('lets the account sign in again once the lockout has passed, or after an unlock, and resets the count', async () => {
    const target = await person(server, 'cooldown', { orgId, role: 'viewer' });
    for (let i = 0; i < 5; i++) await loginAs(target.email, 'wrong password guess');
    expect(errorCode(await loginAs(target.email))).toBe('UNAUTHENTICATED');
    await server.sql(`UPDATE users SET locked_until = now() - interval '1 second' WHERE id = $1`, [target.id]);
    expect((await loginAs(target.email)).errors).toBeUndefined();
    const [row] = await server.sql('SELECT failed_login_count, locked_until FROM users WHERE id = $1', [target.id]);
    expect(row).toEqual({ failed_login_count: 0, locked_until: null });

    for (let i = 0; i < 5; i++) await loginAs(target.email, 'wrong password guess');
    expect(errorCode(await loginAs(target.email))).toBe('UNAUTHENTICATED');
    expect((await server.graphql(UNLOCK, { userId: target.id }, { token: admin.token })).errors).toBeUndefined();
    expect((await loginAs(target.email)).errors).toBeUndefined();
  });

  it('does not lock on fewer failures than the threshold, and a success resets the count', async () => {
    const target = await person(server, 'typo');
    for (let i = 0; i < 4; i++) await loginAs(target.email, 'wrong password guess');
    expect((await loginAs(target.email)).errors).toBeUndefined();
    for (let i = 0; i < 4; i++) await loginAs(target.email, 'wrong password guess');
    expect((await loginAs(target.email)).errors).toBeUndefined();
  });
});
