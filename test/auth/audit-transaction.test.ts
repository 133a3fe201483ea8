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
    // A deferred constraint trigger fails at COMMIT, after the audit row was inserted.
    await server.sql(`
      CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$;
      CREATE CONSTRAINT TRIGGER refuse_session_commit AFTER INSERT ON sessions
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit();
    `);
    const sessionsBefore = await server.sql('SELECT count(*)::int AS n FROM sessions');
    try {
      const response = await server.graphql(
        `mutation { login(email: "owner@example.com", password: "correct horse battery staple") { accessToken } }`,
      );
      expect(errorCode(response)).toBe('INTERNAL_SERVER_ERROR');
      const error = response.errors?.[0];
      expect(error?.message).toBe('Internal server error');
      expect(error?.extensions?.requestId).toBe(response.headers.get('x-request-id'));
      expect(JSON.stringify(response)).not.toMatch(/injected failure|stack|trigger/i);
      expect(await server.sql(`SELECT * FROM audit_logs WHERE action = 'session.login'`)).toEqual([]);
      expect(await server.sql('SELECT count(*)::int AS n FROM sessions')).toEqual(sessionsBefore);
    } finally {
      await server.sql('DROP TRIGGER refuse_session_commit ON sessions; DROP FUNCTION refuse_commit();');
    }
    // The same sign-in commits, with its audit row, once nothing interferes.
    await server.login();
    expect(await server.sql(`SELECT * FROM audit_logs WHERE action = 'session.login'`)).toHaveLength(1);
  });
});
