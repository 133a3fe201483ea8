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

describe('lockout per account and address', () => {
  it('refuses the address after N parallel wrong passwords, counting each exactly once', async () => {
    const target = await person(server, 'bruteforced');
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        loginAs(i % 2 ? target.email.toUpperCase() : target.email, 'wrong password guess'),
      ),
    );
    const codes = attempts.map(errorCode).sort();
    expect(codes).toEqual([...Array(3).fill('RATE_LIMITED'), ...Array(5).fill('UNAUTHENTICATED')]);
    for (const attempt of attempts.filter((response) => errorCode(response) === 'UNAUTHENTICATED')) {
      expect(attempt.errors?.[0].message).toBe('Invalid email or password');
    }

    // The right password from the same address is refused too, before any password check.
    const correct = await loginAs(target.email);
    expect(correct.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
    expect(correct.errors?.[0].extensions?.retryAfter).toBeGreaterThan(14 * 60);
    expect(correct.headers.get('retry-after')).toBe(String(correct.errors?.[0].extensions?.retryAfter));
    const reasons = await server.sql(
      `SELECT changes->>'reason' AS reason FROM audit_logs
        WHERE action = 'session.login_failed' AND target_id = $1 AND org_id IS NULL`,
      [target.id],
    );
    expect(reasons.map((row) => row.reason)).toEqual(Array(5).fill('wrong_password'));
    // The account itself is not locked.
    const [row] = await server.sql('SELECT locked_at FROM users WHERE id = $1', [target.id]);
    expect(row.locked_at).toBeNull();
  });

  it('lets the address sign in again once the lockout has passed, or after an unlock', async () => {
    const target = await person(server, 'cooldown', { orgId, role: 'viewer' });
    for (let i = 0; i < 5; i++) await loginAs(target.email, 'wrong password guess');
    expect(errorCode(await loginAs(target.email))).toBe('RATE_LIMITED');
    await server.sql(`UPDATE rate_limits SET expire = $1 WHERE key LIKE 'loginPerAccountAndIp:%'`, [Date.now() - 1]);
    expect((await loginAs(target.email)).errors).toBeUndefined();

    for (let i = 0; i < 5; i++) await loginAs(target.email, 'wrong password guess');
    expect(errorCode(await loginAs(target.email))).toBe('RATE_LIMITED');
    expect((await server.graphql(UNLOCK, { userId: target.id }, { token: admin.token })).errors).toBeUndefined();
    expect((await loginAs(target.email)).errors).toBeUndefined();
  });

  it('does not refuse on fewer failures than the threshold, and a success starts the count afresh', async () => {
    const target = await person(server, 'typo');
    for (let i = 0; i < 4; i++) await loginAs(target.email, 'wrong password guess');
    expect((await loginAs(target.email)).errors).toBeUndefined();
    for (let i = 0; i < 4; i++) await loginAs(target.email, 'wrong password guess');
    expect((await loginAs(target.email)).errors).toBeUndefined();
  });
});
