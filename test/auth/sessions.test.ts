import { errorCode, withNodes } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;

const REFRESH = `mutation ($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken user { id } } }`;
const LOGOUT = `mutation ($token: String!) { logout(refreshToken: $token) }`;
const ME = '{ me { id } }';

const refresh = (token: string) => server.graphql(REFRESH, { token });

beforeAll(async () => {
  server = await startTestGateway();
});

afterAll(async () => {
  await server.close();
});

describe('refreshSession', () => {
  it('rotates: returns a new pair, and the new access token works', async () => {
    const first = await server.login();
    const response = await refresh(first.refreshToken);
    expect(response.errors).toBeUndefined();
    const next = response.data.refreshSession;
    expect(next.refreshToken).not.toBe(first.refreshToken);
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(next.user.id).toBe(first.userId);
    expect((await server.graphql(ME, {}, { token: next.accessToken })).data.me.id).toBe(first.userId);
    const stored = await server.sql('SELECT token_hash FROM refresh_tokens');
    expect(JSON.stringify(stored)).not.toContain(next.refreshToken);
  });

  it('treats reuse of a spent token as theft and revokes the whole chain', async () => {
    const first = await server.login();
    const second = (await refresh(first.refreshToken)).data.refreshSession;
    const third = (await refresh(second.refreshToken)).data.refreshSession;

    const replay = await refresh(first.refreshToken);
    expect(errorCode(replay)).toBe('UNAUTHENTICATED');
    expect(replay.errors?.[0].extensions?.reason).toBe('auth.invalid_refresh_token');

    // The newest token of the chain and its access token die with it.
    expect(errorCode(await refresh(third.refreshToken))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.graphql(ME, {}, { token: third.accessToken }))).toBe('UNAUTHENTICATED');
    const audit = await server.sql(
      `SELECT * FROM audit_logs WHERE action = 'session.refresh_token_reused' AND org_id IS NULL`,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0].actor_id).toBe(first.userId);
  });

  it('lets at most one of many concurrent refreshes with one token succeed', async () => {
    const { refreshToken } = await server.login();
    const results = await Promise.all(Array.from({ length: 12 }, () => refresh(refreshToken)));
    const succeeded = results.filter((result) => result.data?.refreshSession);
    expect(succeeded.length).toBeLessThanOrEqual(1);
    // Past the per-token limit (RATE_LIMIT_REFRESH_PER_TOKEN) a refusal comes before the token is read.
    const refused = results.filter((result) => ['UNAUTHENTICATED', 'RATE_LIMITED'].includes(errorCode(result) ?? ''));
    expect(refused.length).toBeGreaterThanOrEqual(11);
    const [{ count }] = await server.sql(
      `SELECT count(*)::int AS count FROM refresh_tokens WHERE session_id =
         (SELECT session_id FROM refresh_tokens WHERE used_at IS NOT NULL ORDER BY used_at DESC LIMIT 1)`,
    );
    expect(count).toBeLessThanOrEqual(2);
  });

  it('refuses an unknown token without revealing anything', async () => {
    const response = await refresh('A'.repeat(43));
    expect(response.errors?.[0]).toMatchObject({ message: 'Invalid or expired refresh token' });
  });

  it('refuses to refresh once the account is deactivated', async () => {
    const [org] = await server.sql(`SELECT id FROM orgs WHERE slug = 'acme'`);
    const { refreshToken, userId } = await server.login();
    expect(org.id).toBeDefined();
    await server.sql(`UPDATE users SET status = 'DEACTIVATED' WHERE id = $1`, [userId]);
    try {
      expect(errorCode(await refresh(refreshToken))).toBe('UNAUTHENTICATED');
    } finally {
      await server.sql(`UPDATE users SET status = 'ACTIVE' WHERE id = $1`, [userId]);
    }
  });
});

describe('logout', () => {
  it('ends the session: its refresh token and access token stop working', async () => {
    const { accessToken, refreshToken } = await server.login();
    expect((await server.graphql(LOGOUT, { token: refreshToken })).data.logout).toBe(true);
    expect(errorCode(await refresh(refreshToken))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.graphql(ME, {}, { token: accessToken }))).toBe('UNAUTHENTICATED');
    expect((await server.graphql(LOGOUT, { token: refreshToken })).data.logout).toBe(false);
  });
});

describe('sessions and revokeSession', () => {
  const SESSIONS = '{ sessions(first: 100) { edges { node { id current userAgent org { slug } } } } }';
  const REVOKE = 'mutation ($id: ID!) { revokeSession(id: $id) }';

  it("lists the caller's active sessions and marks the current one", async () => {
    const a = await server.login();
    const b = await server.login();
    const response = await server.graphql(SESSIONS, {}, { token: a.accessToken });
    const sessions = withNodes(response.data.sessions) as Array<{
      id: string;
      current: boolean;
      org: { slug: string };
    }>;
    expect(sessions.filter((session) => session.current)).toHaveLength(1);
    expect(sessions.every((session) => session.org.slug === 'acme')).toBe(true);

    const [other] = await server.sql(
      `SELECT s.id FROM sessions s JOIN refresh_tokens r ON r.session_id = s.id WHERE r.token_hash = sha256($1::bytea)`,
      [Buffer.from(b.refreshToken)],
    );
    expect(sessions.map((session) => session.id)).toContain(other.id);
    expect((await server.graphql(REVOKE, { id: other.id }, { token: a.accessToken })).data.revokeSession).toBe(true);
    expect(errorCode(await server.graphql(ME, {}, { token: b.accessToken }))).toBe('UNAUTHENTICATED');
    const after = withNodes((await server.graphql(SESSIONS, {}, { token: a.accessToken })).data.sessions) as Array<{
      id: string;
    }>;
    expect(after.map((session) => session.id)).not.toContain(other.id);
  });

  it("answers NOT_FOUND for another user's session or a malformed id", async () => {
    const owner = await server.login();
    const [stranger] = await server.sql(`INSERT INTO users (email) VALUES ('stranger@example.com') RETURNING id`);
    const [session] = await server.sql(
      `INSERT INTO sessions (user_id, expires_at) VALUES ($1, now() + interval '1 day') RETURNING id`,
      [stranger.id],
    );
    expect(errorCode(await server.graphql(REVOKE, { id: session.id }, { token: owner.accessToken }))).toBe('NOT_FOUND');
    expect(errorCode(await server.graphql(REVOKE, { id: 'nope' }, { token: owner.accessToken }))).toBe('NOT_FOUND');
    const [row] = await server.sql('SELECT revoked_at FROM sessions WHERE id = $1', [session.id]);
    expect(row.revoked_at).toBeNull();
  });

  it('requires a signed-in caller', async () => {
    expect(errorCode(await server.graphql(SESSIONS))).toBe('UNAUTHENTICATED');
  });
});
