import { decodeProtectedHeader } from 'jose';
import { checkpointSignatureHolds, sealChain } from '../../src/core/audit/checkpoint';
import { errorCode } from '../support/graphql-client';
import { createOrgAs, roleId } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(60_000);

let server: TestGateway;
let orgId: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MEMBERS = `query ($orgId: ID!) { users(orgId: $orgId) { totalCount } }`;
const publishedKids = async () =>
  ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map(
    (key) => key.kid,
  );

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(200);
  }
  return condition();
}

beforeAll(async () => {
  server = await startTestGateway({ SIGNING_KEY_PUBLICATION_LEAD: '2s', JWKS_MAX_AGE: '2s', ACCESS_TOKEN_TTL: '2s' });
});

afterAll(async () => {
  await server.close();
});

it('keeps a retired key published while an API key it signed works, and unpublishes it once none does', async () => {
  const owner = (await server.login()).accessToken;
  orgId = await createOrgAs(server, owner, 'Keys Org');
  const account = await server.graphql(
    `mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }`,
    { input: { orgId, name: 'Bot', roleId: await roleId(server, orgId, 'admin') } },
    { token: owner },
  );
  const created = await server.graphql(
    `mutation ($input: CreateKeyInput!) { createKey(input: $input) { token apiKey { id } } }`,
    { input: { ownerId: account.data.createServiceAccount.id, name: 'ci', scopes: ['members:read'] } },
    { token: owner },
  );
  const { token: apiKey, apiKey: row } = created.data.createKey;
  const retiring = decodeProtectedHeader(apiKey).kid as string;
  const keys = server.gateway.services.signingKeys;
  const checkpoint = await server.gateway.database.dataSource.transaction((tx) => sealChain(tx, keys, orgId));
  expect(decodeProtectedHeader(checkpoint.signature).kid).toBe(retiring);

  const rotated = await server.graphql('mutation { rotateSigningKey { id activatesAt } }', {}, { token: owner });
  const next = rotated.data.rotateSigningKey;
  expect(
    await until(async () => {
      const [key] = await server.sql('SELECT status FROM signing_keys WHERE id = $1', [retiring]);
      return key.status === 'RETIRED';
    }, 10_000),
  ).toBe(true);

  // Well past every access token's lifetime (2 s) and the check slack: only the API key keeps it.
  await sleep(7_000);
  expect(await publishedKids()).toEqual([retiring, next.id]);
  expect((await server.graphql(MEMBERS, { orgId }, { token: apiKey })).errors).toBeUndefined();

  const fresh = (await server.login()).accessToken;
  const revoked = await server.graphql(
    'mutation ($id: ID!) { revokeKey(id: $id) { id } }',
    { id: row.id },
    { token: fresh },
  );
  expect(revoked.errors).toBeUndefined();
  expect(await until(async () => (await publishedKids()).length === 1, 5_000)).toBe(true);
  expect(await publishedKids()).toEqual([next.id]);
  const [unpublished] = await server.sql('SELECT status, unpublished_at FROM signing_keys WHERE id = $1', [retiring]);
  expect(unpublished).toEqual({ status: 'RETIRED', unpublished_at: expect.any(Date) });
  expect(errorCode(await server.graphql(MEMBERS, { orgId }, { token: apiKey }))).toBe('UNAUTHENTICATED');
  // Unpublished, it verifies no token, but audit checkpoints it signed still verify.
  expect(await keys.publicKey(retiring)).toBeNull();
  expect(await checkpointSignatureHolds(keys, checkpoint)).toBe(true);
  expect(await checkpointSignatureHolds(keys, { ...checkpoint, removedCount: 1 })).toBe(false);
});
