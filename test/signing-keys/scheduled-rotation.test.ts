import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(60_000);

let server: TestGateway;

const ROTATION_S = 12;
const LEAD_S = 4;
const MAX_AGE_S = 4;

beforeAll(async () => {
  server = await startTestGateway({
    SIGNING_KEY_ROTATION: `${ROTATION_S}s`,
    SIGNING_KEY_PUBLICATION_LEAD: `${LEAD_S}s`,
    JWKS_MAX_AGE: `${MAX_AGE_S}s`,
  });
});

afterAll(async () => {
  await server.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('serves the JWKS with the configured max-age', async () => {
  const response = await fetch(`${server.url}/.well-known/jwks.json`);
  expect(response.headers.get('cache-control')).toBe(`public, max-age=${MAX_AGE_S}`);
});

it('publishes the next key ahead, so a verifier caching the JWKS for its max-age keeps verifying across the switch', async () => {
  const [first] = await server.sql(`SELECT id FROM signing_keys WHERE status = 'ACTIVE'`);
  // Refetches only when its copy is max-age old, never because of an unknown kid (the cooldown
  // outlasts the test): a kid it has not seen yet fails the verification.
  const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`), {
    cacheMaxAge: MAX_AGE_S * 1000,
    cooldownDuration: 10 * 60_000,
  });
  const verify = (token: string) =>
    jwtVerify(token, jwks, {
      algorithms: ['ES256'],
      typ: 'at+jwt',
      issuer: 'http://portcullis.test',
      audience: 'portcullis',
    });

  const kids: string[] = [];
  const earlyTokens: string[] = [];
  const deadline = Date.now() + (ROTATION_S + 8) * 1000;
  while (Date.now() < deadline) {
    const { accessToken } = await server.login();
    const kid = decodeProtectedHeader(accessToken).kid as string;
    if (kid === first.id) earlyTokens.push(accessToken);
    if (kids.at(-1) !== kid) kids.push(kid);
    await expect(verify(accessToken)).resolves.toMatchObject({ protectedHeader: { kid } });
    if (kids.length > 1 && Date.now() > deadline - 6000) break;
    await sleep(400);
  }
  expect(kids).toHaveLength(2);
  expect(kids[0]).toBe(first.id);

  const keys = await server.sql('SELECT id, status, activates_at, retired_at FROM signing_keys ORDER BY created_at');
  expect(keys.map((key: { id: string; status: string }) => [key.id, key.status])).toEqual([
    [first.id, 'RETIRED'],
    [kids[1], 'ACTIVE'],
  ]);
  // The new key was published LEAD before it signed.
  const [{ lead }] = await server.sql(
    `SELECT extract(epoch FROM activates_at - created_at)::float AS lead FROM signing_keys WHERE id = $1`,
    [kids[1]],
  );
  expect(lead).toBeCloseTo(LEAD_S, 1);

  // Tokens the retired key signed still verify, here and at the gateway, and its key is still published.
  const published = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
    keys: Array<{ kid: string }>;
  };
  expect(published.keys.map((key) => key.kid)).toEqual([first.id, kids[1]]);
  const oldToken = earlyTokens[0];
  await expect(verify(oldToken)).resolves.toBeDefined();
  const me = await server.graphql('{ me { id } }', {}, { token: oldToken });
  expect(me.errors).toBeUndefined();
});
