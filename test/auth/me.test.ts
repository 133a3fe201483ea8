import { errorCode } from '../support/graphql-client';
import { OWNER_EMAIL, startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;

beforeAll(async () => {
  server = await startTestGateway();
});

afterAll(async () => {
  await server.close();
});

describe('me', () => {
  it('answers the signed-in user with their memberships', async () => {
    const { accessToken } = await server.login();
    const response = await server.graphql(
      '{ me { email superUser fullName locked defaultOrg { slug } memberships { role { key } org { name } } } }',
      {},
      { token: accessToken },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.me).toEqual({
      email: OWNER_EMAIL,
      superUser: true,
      fullName: '',
      locked: false,
      defaultOrg: { slug: 'acme' },
      memberships: [{ role: { key: 'owner' }, org: { name: 'Acme' } }],
    });
  });

  it('is UNAUTHENTICATED without a token', async () => {
    const response = await server.graphql('{ me { email } }');
    expect(errorCode(response)).toBe('UNAUTHENTICATED');
    expect(response.data).toBeNull();
  });

  it('is UNAUTHENTICATED with a malformed token', async () => {
    const response = await server.graphql('{ me { email } }', {}, { token: 'not-a-jwt' });
    expect(errorCode(response)).toBe('UNAUTHENTICATED');
    expect(response.errors?.[0].extensions?.reason).toBe('auth.invalid_token');
  });
});
