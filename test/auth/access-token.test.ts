import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SignJWT,
  createRemoteJWKSet,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const ISSUER = 'http://portcullis.test';
const AUDIENCE = 'portcullis';
const TOKEN_TYPE = 'at+jwt';

/** The members an EC public JWK may carry; anything else (notably `d`) would leak key material. */
const PUBLIC_JWK_MEMBERS = ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'];

let server: TestGateway;
let ownerId: string;
let sessionId: string;

beforeAll(async () => {
  server = await startTestGateway();
  ({ userId: ownerId } = await server.login());
  [{ id: sessionId }] = await server.sql('SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [
    ownerId,
  ]);
});

afterAll(async () => {
  await server.close();
});

type Claims = JWTPayload & { sid?: string };

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The claims the gateway itself would issue for the owner's session, with one property overridden. */
function ownerClaims(overrides: Claims = {}): Claims {
  const now = nowSeconds();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: ownerId,
    sid: sessionId,
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    ...overrides,
  };
}

/** Signs like the gateway does (ES256, its active kid, `at+jwt`) unless the header or key says otherwise. */
async function signToken(
  claims: Claims = ownerClaims(),
  header: Partial<JWTHeaderParameters> = {},
  key: CryptoKey | Uint8Array = server.gateway.services.signingKeys.signingKey().privateKey,
): Promise<string> {
  const { kid } = server.gateway.services.signingKeys.signingKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: TOKEN_TYPE, ...header }).sign(key);
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeSegment(segment: string): Claims {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Claims;
}

/** The token with its payload replaced and its header and signature kept. */
function withEditedPayload(token: string, edit: (claims: Claims) => Claims): string {
  const [header, payload, signature] = token.split('.');
  const edited = base64url(edit(decodeSegment(payload)));
  return [header, edited, signature].join('.');
}

function meWith(token: string) {
  return server.graphql<{ me: { id: string } }>('{ me { id } }', {}, { token });
}

async function expectAccepted(token: string, userId = ownerId): Promise<void> {
  const response = await meWith(token);
  expect(response.errors).toBeUndefined();
  expect(response.data?.me.id).toBe(userId);
}

async function expectRefused(token: string): Promise<void> {
  const response = await meWith(token);
  expect(response.data).toBeNull();
  expect(response.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'auth.invalid_token' });
}

async function attackerKeyPair(): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig' } };
}

async function fetchJwks(): Promise<{ keys: JWK[] }> {
  const response = await fetch(`${server.url}/.well-known/jwks.json`);
  expect(response.status).toBe(200);
  return (await response.json()) as { keys: JWK[] };
}

/** A server that would hand out `jwks` and counts how often it is asked. */
async function startAttackerJwksServer(jwks: {
  keys: JWK[];
}): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const attacker: Server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  const { port } = attacker.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => attacker.close(() => resolve())),
  };
}

describe('access tokens on { me { id } }', () => {
  it('accepts the access token issued by login', async () => {
    const { accessToken, userId } = await server.login();
    await expectAccepted(accessToken, userId);
  });

  it('accepts a hand-made token with the gateway key and valid claims (the baseline for the refusals below)', async () => {
    await expectAccepted(await signToken());
  });

  describe('refuses a token that differs from the baseline in one property', () => {
    it('has expired (and is accepted with the same iat and a future exp)', async () => {
      const iat = nowSeconds() - 600;
      await expectAccepted(await signToken(ownerClaims({ iat, exp: iat + 900 })));
      await expectRefused(await signToken(ownerClaims({ iat, exp: iat + 540 })));
    });

    it('has the wrong audience', async () => {
      await expectRefused(await signToken(ownerClaims({ aud: 'another-service' })));
    });

    it('has the wrong issuer', async () => {
      await expectRefused(await signToken(ownerClaims({ iss: 'http://attacker.test' })));
    });

    it('has the wrong typ header (JWT instead of at+jwt)', async () => {
      await expectRefused(await signToken(ownerClaims(), { typ: 'JWT' }));
    });

    it('is unsigned (alg: none)', async () => {
      const { kid } = server.gateway.services.signingKeys.signingKey();
      const unsigned = `${base64url({ alg: 'none', kid, typ: TOKEN_TYPE })}.${base64url(ownerClaims())}.`;
      await expectRefused(unsigned);
    });

    it.each([
      ['the JSON of its public JWK', async (jwk: JWK) => new TextEncoder().encode(JSON.stringify(jwk))],
      [
        'its public key as SPKI PEM',
        async (jwk: JWK) => new TextEncoder().encode(await exportSPKI((await importJWK(jwk, 'ES256')) as CryptoKey)),
      ],
    ])('is HS256-signed with %s as the secret (algorithm confusion)', async (_name, secretOf) => {
      const { kid } = server.gateway.services.signingKeys.signingKey();
      const publicJwk = (await fetchJwks()).keys.find((key) => key.kid === kid);
      expect(publicJwk).toBeDefined();
      await expectRefused(await signToken(ownerClaims(), { alg: 'HS256' }, await secretOf(publicJwk as JWK)));
    });

    it('is signed by an unknown key under an unknown kid', async () => {
      const attacker = await attackerKeyPair();
      await expectRefused(await signToken(ownerClaims(), { kid: randomUUID() }, attacker.privateKey));
    });

    it('is signed by an attacker key embedded as a jwk header, under the real kid', async () => {
      const attacker = await attackerKeyPair();
      await expectRefused(await signToken(ownerClaims(), { jwk: attacker.publicJwk }, attacker.privateKey));
    });

    it('is signed by an attacker key published at a jku URL, under the real kid, and the URL is never fetched', async () => {
      const attacker = await attackerKeyPair();
      const { kid } = server.gateway.services.signingKeys.signingKey();
      const jwksServer = await startAttackerJwksServer({ keys: [{ ...attacker.publicJwk, kid }] });
      try {
        await expectRefused(await signToken(ownerClaims(), { jku: jwksServer.url }, attacker.privateKey));
        expect(jwksServer.hits()).toBe(0);
      } finally {
        await jwksServer.close();
      }
    });
  });

  describe('refuses a signed token whose payload was edited afterwards', () => {
    let other: { userId: string; sessionId: string };

    beforeAll(async () => {
      const [{ id: userId }] = await server.sql(`INSERT INTO users (email) VALUES ('other@example.com') RETURNING id`);
      const [{ id: otherSessionId }] = await server.sql(
        `INSERT INTO sessions (user_id, expires_at) VALUES ($1, now() + interval '1 hour') RETURNING id`,
        [userId],
      );
      other = { userId, sessionId: otherSessionId };
    });

    it('one character of jti changed', async () => {
      const token = await signToken();
      await expectAccepted(token);
      const flipped = (jti: string) => (jti[0] === 'a' ? 'b' : 'a') + jti.slice(1);
      await expectRefused(withEditedPayload(token, (claims) => ({ ...claims, jti: flipped(String(claims.jti)) })));
    });

    it('sub and sid swapped to another user whose own properly signed token is accepted', async () => {
      await expectAccepted(await signToken(ownerClaims({ sub: other.userId, sid: other.sessionId })), other.userId);
      const token = await signToken();
      await expectRefused(
        withEditedPayload(token, (claims) => ({ ...claims, sub: other.userId, sid: other.sessionId })),
      );
    });
  });

  it('verifies with an independent client that only knows the published JWKS', async () => {
    const { accessToken, userId } = await server.login();
    const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: TOKEN_TYPE,
    });
    expect(payload.sub).toBe(userId);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: server.gateway.services.signingKeys.signingKey().kid });
  });

  it('publishes only public key members in the JWKS', async () => {
    const { keys } = await fetchJwks();
    expect(keys.map((key) => key.kid)).toContain(server.gateway.services.signingKeys.signingKey().kid);
    for (const key of keys) {
      expect(key).not.toHaveProperty('d');
      expect(PUBLIC_JWK_MEMBERS).toEqual(expect.arrayContaining(Object.keys(key)));
    }
  });

  it('refuses the access token of a session once its refresh token has logged out', async () => {
    const { accessToken, refreshToken } = await server.login();
    await expectAccepted(accessToken);
    const logout = await server.graphql('mutation ($refreshToken: String!) { logout(refreshToken: $refreshToken) }', {
      refreshToken,
    });
    expect(logout.data).toEqual({ logout: true });
    await expectRefused(accessToken);
  });
});
