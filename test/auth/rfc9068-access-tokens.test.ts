import { randomUUID } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import * as oauth from 'oauth4webapi';
import { createOrgAs, roleId } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const ISSUER = 'http://portcullis.test';
/** The gateway's default `JWT_AUDIENCE`: the GraphQL API as a resource. */
const AUDIENCE = 'portcullis';
const FIRST_PARTY_CLIENT_ID = 'portcullis';
/** RFC 9068 §2.2: the claims every JWT access token must carry. */
const RFC9068_REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

const AUTH_PAYLOAD = 'accessToken refreshToken user { id }';
const REFRESH = `mutation ($token: String!) { refreshSession(refreshToken: $token) { ${AUTH_PAYLOAD} } }`;
const LINK = `mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { token } }`;
const ACCEPT = `mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { ${AUTH_PAYLOAD} } }`;

type AuthPayload = { accessToken: string; refreshToken: string; user: { id: string } };

let server: TestGateway;
let owner: { accessToken: string; refreshToken: string; userId: string };

beforeAll(async () => {
  server = await startTestGateway();
  owner = await server.login();
});

afterAll(async () => {
  await server.close();
});

function jwksUri(): string {
  return `${server.url}/.well-known/jwks.json`;
}

/** An independent resource server: keys come only from the published JWKS, claims per RFC 9068 §2.2. */
async function verifyWithJose(token: string) {
  return jwtVerify(token, createRemoteJWKSet(new URL(jwksUri())), {
    algorithms: ['ES256'],
    typ: 'at+jwt',
    issuer: ISSUER,
    audience: AUDIENCE,
    requiredClaims: RFC9068_REQUIRED_CLAIMS,
  });
}

/** The check off-the-shelf relying parties run on a bearer token, with the metadata discovery would give. */
async function verifyWithOauth4webapi(token: string): Promise<oauth.JWTAccessTokenClaims> {
  const as: oauth.AuthorizationServer = { issuer: ISSUER, jwks_uri: jwksUri() };
  const request = new Request(`${server.url}/graphql`, { headers: { authorization: `Bearer ${token}` } });
  // The test gateway listens on plain http; oauth4webapi insists on https unless told otherwise.
  return oauth.validateJwtAccessToken(as, request, AUDIENCE, {
    signingAlgorithms: ['ES256'],
    [oauth.allowInsecureRequests]: true,
  });
}

async function expectFirstPartyRfc9068Token(token: string, userId: string): Promise<void> {
  const { payload, protectedHeader } = await verifyWithJose(token);
  expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
  expect(payload).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: userId, client_id: FIRST_PARTY_CLIENT_ID });
  expect(payload.jti).toEqual(expect.any(String));
  expect(payload.sid).toEqual(expect.any(String));
  // No scope was requested and a session is bounded by its holder's rights, not by scopes (§2.2.3).
  expect(payload).not.toHaveProperty('scope');

  const claims = await verifyWithOauth4webapi(token);
  expect(claims).toMatchObject({ iss: ISSUER, sub: userId, client_id: FIRST_PARTY_CLIENT_ID, jti: payload.jti });
}

async function me(token: string) {
  return server.graphql<{ me: { id: string } }>('{ me { id } }', {}, { token });
}

describe('access tokens of first-party sessions are RFC 9068 JWTs', () => {
  it('from login', async () => {
    await expectFirstPartyRfc9068Token(owner.accessToken, owner.userId);
  });

  it('from refreshSession', async () => {
    const { refreshToken } = await server.login();
    const refreshed = await server.graphql<{ refreshSession: AuthPayload }>(REFRESH, { token: refreshToken });
    expect(refreshed.errors).toBeUndefined();
    const { accessToken, user } = refreshed.data!.refreshSession;
    await expectFirstPartyRfc9068Token(accessToken, user.id);
  });

  it('from acceptInvitation', async () => {
    const orgId = await createOrgAs(server, owner.accessToken, 'RFC 9068 Org');
    const link = await server.graphql<{ createInviteLink: { token: string } }>(
      LINK,
      { input: { orgId, roleId: await roleId(server, orgId, 'viewer'), maxUses: 1, expiresInSeconds: 3600 } },
      { token: owner.accessToken },
    );
    expect(link.errors).toBeUndefined();
    const accepted = await server.graphql<{ acceptInvitation: AuthPayload }>(ACCEPT, {
      input: {
        token: link.data!.createInviteLink.token,
        email: 'rfc9068.invitee@example.com',
        password: 'invitee password 123',
        firstName: 'Rfc',
        lastName: 'Invitee',
      },
    });
    expect(accepted.errors).toBeUndefined();
    const { accessToken, user } = accepted.data!.acceptInvitation;
    await expectFirstPartyRfc9068Token(accessToken, user.id);
  });

  it('each with its own jti', async () => {
    const first = decodeJwt((await server.login()).accessToken);
    const second = decodeJwt((await server.login()).accessToken);
    expect(first.jti).not.toBe(second.jti);
  });
});

describe('tokens in the earlier form and tokens of other clients', () => {
  const sessionClaims = (): JWTPayload => decodeJwt(owner.accessToken);

  /** Signed with the gateway's own key: only the claims differ from what it issues. */
  async function signAsGateway(claims: JWTPayload): Promise<string> {
    const { kid, privateKey } = server.gateway.services.signingKeys.signingKey();
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey);
  }

  function withoutClientId(): JWTPayload {
    const { client_id: _dropped, ...claims } = sessionClaims();
    return { ...claims, jti: randomUUID() };
  }

  it('a token without client_id fails RFC 9068 verifiers, so the assertions above can fail', async () => {
    const legacy = await signAsGateway(withoutClientId());
    await expect(verifyWithJose(legacy)).rejects.toThrow(/client_id/);
    await expect(verifyWithOauth4webapi(legacy)).rejects.toThrow(/client_id/);
  });

  it('the API still accepts a token issued before client_id, for the rest of its lifetime', async () => {
    const response = await me(await signAsGateway(withoutClientId()));
    expect(response.errors).toBeUndefined();
    expect(response.data?.me.id).toBe(owner.userId);
  });

  it('the API accepts the gateway-issued token as a session', async () => {
    const response = await me(owner.accessToken);
    expect(response.errors).toBeUndefined();
    expect(response.data?.me.id).toBe(owner.userId);
  });

  it.each([
    ['another client', 'third-party-app'],
    ['a non-string client_id', ['portcullis']],
  ])('the API refuses a session token of %s', async (_case, clientId) => {
    const token = await signAsGateway({ ...sessionClaims(), client_id: clientId, jti: randomUUID() });
    const response = await me(token);
    expect(response.data).toBeNull();
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'auth.invalid_token' });
  });
});
