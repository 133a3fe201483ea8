import { whileCommitsFail } from '../support/fail-at-commit';
import { errorCode } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;

beforeAll(async () => {
  server = await startTestGateway();
});

afterAll(async () => {
  await server.close();
});

describe('audit records share their change’s transaction', () => {
  it('leaves no audit row, and no session, when the sign-in transaction rolls back', async () => {
    const sessionsBefore = await server.sql('SELECT count(*)::int AS n FROM sessions');
    const response = await whileCommitsFail(server, 'sessions', () =>
      server.graphql(
        `mutation { login(email: "owner@example.com", password: "correct horse battery staple") { accessToken } }`,
      ),
    );
    expect(errorCode(response)).toBe('INTERNAL_SERVER_ERROR');
    const error = response.errors?.[0];
    expect(error?.message).toBe('Internal server error');
    expect(error?.extensions?.requestId).toBe(response.headers.get('x-request-id'));
    expect(JSON.stringify(response)).not.toMatch(/injected failure|stack|trigger/i);
    expect(await server.sql(`SELECT * FROM audit_logs WHERE action = 'session.login'`)).toEqual([]);
    expect(await server.sql('SELECT count(*)::int AS n FROM sessions')).toEqual(sessionsBefore);
    // The same sign-in commits, with its audit row, once nothing interferes.
    await server.login();
    // One event: the account chain's row (and the owner's org's copy).
    expect(await server.sql(`SELECT * FROM audit_logs WHERE action = 'session.login' AND org_id IS NULL`)).toHaveLength(
      1,
    );
  });
});
