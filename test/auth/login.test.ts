import { PasswordHasher } from '../../src/core/crypto/password-hasher';
import { withOpenedChanges } from '../support/audit-changes';
import { errorCode } from '../support/graphql-client';
import { OWNER_EMAIL, OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;

const LOGIN = `mutation ($email: String!, $password: String!, $orgId: ID) {
  login(email: $email, password: $password, orgId: $orgId) { accessToken refreshToken expiresAt user { id email } }
}`;

const login = (email: string, password: string, orgId?: string) => server.graphql(LOGIN, { email, password, orgId });

/** Adds an account directly, hashed the way the gateway hashes (cost 4 in tests). */
async function insertUser(
  email: string,
  password: string | null,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const hash = password === null ? null : await new PasswordHasher(4).hash(password);
  const columns = ['email', 'password_hash', ...Object.keys(extra)];
  const values = [email, hash, ...Object.values(extra)];
  const [row] = await server.sql(
    `INSERT INTO users (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    values,
  );
  return row.id;
}

/** One row per event: the account chain's, which an account event's org copies repeat. */
async function auditRows(action: string) {
  return server.sql('SELECT * FROM audit_logs WHERE action = $1 AND org_id IS NULL ORDER BY seq', [action]);
}

beforeAll(async () => {
  server = await startTestGateway();
});

afterAll(async () => {
  await server.close();
});

describe('login', () => {
  it('signs in with the right password, matching the email case-insensitively', async () => {
    const response = await login(OWNER_EMAIL.toUpperCase(), OWNER_PASSWORD);
    expect(response.errors).toBeUndefined();
    const payload = response.data.login;
    expect(payload.user.email).toBe(OWNER_EMAIL);
    expect(payload.accessToken.split('.')).toHaveLength(3);
    expect(payload.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(payload.expiresAt).getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
    const [user] = await server.sql('SELECT last_login_at FROM users WHERE id = $1', [payload.user.id]);
    expect(user.last_login_at).not.toBeNull();
  });

  it('gives one identical error for an unknown email, a wrong password and unusable accounts', async () => {
    await insertUser('deactivated@example.com', OWNER_PASSWORD, { status: 'DEACTIVATED' });
    await insertUser('locked@example.com', OWNER_PASSWORD, { locked_at: new Date() });
    await insertUser('robot@example.com', null, { kind: 'CUSTOMER' });
    const attempts = [
      await login('nobody@example.com', OWNER_PASSWORD),
      await login(OWNER_EMAIL, 'wrong password entirely'),
      await login('deactivated@example.com', OWNER_PASSWORD),
      await login('locked@example.com', OWNER_PASSWORD),
      await login('robot@example.com', OWNER_PASSWORD),
    ];
    for (const response of attempts) {
      expect(response.data).toBeNull();
      expect(response.errors).toHaveLength(1);
      expect(response.errors?.[0]).toMatchObject({
        message: 'Invalid email or password',
        extensions: { code: 'UNAUTHENTICATED', reason: 'auth.invalid_credentials' },
      });
    }
  });

  it('refuses an org the user does not belong to, and signs in to one they do', async () => {
    const [org] = await server.sql(`SELECT id FROM orgs WHERE slug = 'acme'`);
    const memberId = await insertUser('member@example.com', OWNER_PASSWORD);
    expect(errorCode(await login('member@example.com', OWNER_PASSWORD, org.id))).toBe('UNAUTHENTICATED');
    const [viewer] = await server.sql(`SELECT id FROM roles WHERE org_id = $1 AND key = 'viewer'`, [org.id]);
    await server.sql('INSERT INTO memberships (user_id, org_id, role_id) VALUES ($1, $2, $3)', [
      memberId,
      org.id,
      viewer.id,
    ]);
    const response = await login('member@example.com', OWNER_PASSWORD, org.id);
    expect(response.errors).toBeUndefined();
    const [session] = await server.sql('SELECT org_id FROM sessions WHERE user_id = $1', [memberId]);
    expect(session.org_id).toBe(org.id);
  });

  it('answers the rest of the operation as the person it signed in, under their permissions', async () => {
    // Apollo runs the operation on a copy of the context; the checks must see the copy's caller.
    const answer = await server.graphql(
      `mutation ($email: String!, $password: String!) {
        login(email: $email, password: $password) {
          user { memberships { org { name members(first: 1) { totalCount } } } }
        }
      }`,
      { email: OWNER_EMAIL, password: OWNER_PASSWORD },
    );
    expect(answer.errors).toBeUndefined();
    const [membership] = answer.data.login.user.memberships;
    expect(membership.org.name).toBe('Acme');
    expect(membership.org.members.totalCount).toBeGreaterThan(0);
  });

  it('rejects oversized input with BAD_USER_INPUT naming the field', async () => {
    const response = await login(OWNER_EMAIL, 'x'.repeat(5000));
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0].extensions?.field).toBe('password');
  });

  it('writes one audit record per attempt, success or failure, with the real reason', async () => {
    const failuresBefore = (await auditRows('session.login_failed')).length;
    const successesBefore = (await auditRows('session.login')).length;
    await login(OWNER_EMAIL, 'not the password at all', undefined);
    await login('ghost@example.com', 'not the password at all', undefined);
    const ok = await login(OWNER_EMAIL, OWNER_PASSWORD);

    // Addresses are stored sealed (personal data); opened, each record names the one tried.
    const failures = await withOpenedChanges(server, (await auditRows('session.login_failed')).slice(failuresBefore));
    expect(failures.map((row) => row.changes)).toEqual([
      { email: OWNER_EMAIL, reason: 'wrong_password' },
      { email: 'ghost@example.com', reason: 'unknown_email' },
    ]);
    expect(failures[0].actor_id).toBe(ok.data.login.user.id);
    expect(failures[1].actor_id).toBeNull();
    expect(failures[1].actor_kind).toBe('ANONYMOUS');

    const successes = (await auditRows('session.login')).slice(successesBefore);
    expect(successes).toHaveLength(1);
    expect(successes[0]).toMatchObject({
      actor_id: ok.data.login.user.id,
      actor_kind: 'HUMAN',
      target_type: 'Session',
    });
    expect(successes[0].request_id).toEqual(expect.any(String));
    expect(successes[0].ip_address).toMatch(/127\.0\.0\.1/);
    const serialized = JSON.stringify(await server.sql('SELECT * FROM audit_logs'));
    expect(serialized).not.toContain(OWNER_PASSWORD);
    expect(serialized).not.toContain('not the password at all');
  });

  it('tells passwords apart beyond bcrypt’s 72-byte limit', async () => {
    const prefix = 'p'.repeat(72);
    await insertUser('long@example.com', `${prefix}-first`);
    expect((await login('long@example.com', `${prefix}-second`)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await login('long@example.com', prefix)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await login('long@example.com', `${prefix}-first`)).errors).toBeUndefined();
  });
});

describe('login timing', () => {
  let timed: TestGateway;

  beforeAll(async () => {
    timed = await startTestGateway({ BCRYPT_COST: '11' });
  });

  afterAll(async () => {
    await timed.close();
  });

  const attempt = async (email: string): Promise<number> => {
    const started = performance.now();
    await timed.graphql(LOGIN, { email, password: 'definitely wrong password' });
    return performance.now() - started;
  };

  it('costs about the same for an unknown email as for a wrong password', async () => {
    await attempt(OWNER_EMAIL); // warm-up: the decoy hash and connections
    // Pairs run back to back, so both sides of a pair see the same load from other test files.
    const ratios: number[] = [];
    const known: number[] = [];
    for (let i = 0; i < 11; i++) {
      const knownMs = await attempt(OWNER_EMAIL);
      const unknownMs = await attempt('unknown-user@example.com');
      known.push(knownMs);
      ratios.push(unknownMs / knownMs);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    // bcrypt at cost 11 dominates both (~100 ms); without the decoy the unknown path takes ~1 ms,
    // a ratio near 0.01.
    expect(median(known)).toBeGreaterThan(30);
    expect(median(ratios)).toBeGreaterThan(0.33);
    expect(median(ratios)).toBeLessThan(3);
  });
});
