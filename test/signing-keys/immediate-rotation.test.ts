import { decodeProtectedHeader } from 'jose';
import { errorCode } from '../support/graphql-client';
import { createOrgAs, person, roleId, type Person } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let ownerToken: string;
let member: Person;
let orgId: string;

const ROTATE = `mutation ($immediate: Boolean) {
  rotateSigningKey(immediate: $immediate) { id algorithm status createdAt activatesAt retiredAt }
}`;
const ME = '{ me { id } }';
const MEMBERS = `query ($orgId: ID!) { users(orgId: $orgId) { totalCount } }`;

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const publishedKids = async () => {
  const response = await fetch(`${server.url}/.well-known/jwks.json`);
  return ((await response.json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
};

async function issueApiKey(token = ownerToken): Promise<string> {
  const created = await server.graphql(
    `mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }`,
    { input: { orgId, name: 'Deploy Bot', roleId: await roleId(server, orgId, 'admin') } },
    { token },
  );
  const key = await server.graphql(
    `mutation ($input: CreateKeyInput!) { createKey(input: $input) { token apiKey { id } } }`,
    { input: { ownerId: created.data.createServiceAccount.id, name: 'ci', scopes: ['members:read'] } },
    { token },
  );
  if (key.errors) throw new Error(JSON.stringify(key.errors));
  return key.data.createKey.token;
}

beforeAll(async () => {
  server = await startTestGateway();
  ownerToken = (await server.login()).accessToken;
  orgId = await createOrgAs(server, ownerToken, 'Rotation Org');
  member = await person(server, 'admin', { orgId, role: 'owner' });
});

afterAll(async () => {
  await server.close();
});

it('refuses anyone but a super user, even an org owner, and changes nothing', async () => {
  const before = await server.sql('SELECT id, status FROM signing_keys ORDER BY id');
  const refused = await server.graphql(ROTATE, { immediate: true }, { token: member.token });
  expect(errorCode(refused)).toBe('FORBIDDEN');
  expect(await server.sql('SELECT id, status FROM signing_keys ORDER BY id')).toEqual(before);
});

it('switches at once on a compromise: everything the old key signed stops verifying', async () => {
  const oldToken = (await server.login()).accessToken;
  const apiKey = await issueApiKey();
  const oldKid = kidOf(oldToken);
  expect(kidOf(apiKey)).toBe(oldKid);
  const [recorded] = await server.sql('SELECT signing_kid FROM api_keys');
  expect(recorded.signing_kid).toBe(oldKid);
  expect((await server.graphql(ME, {}, { token: oldToken })).data.me).not.toBeNull();
  expect((await server.graphql(MEMBERS, { orgId }, { token: apiKey })).errors).toBeUndefined();
  expect(await publishedKids()).toEqual([oldKid]);

  const rotated = await server.graphql(ROTATE, { immediate: true }, { token: ownerToken });
  expect(rotated.errors).toBeUndefined();
  const newKey = rotated.data.rotateSigningKey;
  expect(newKey).toMatchObject({ algorithm: 'ES256', status: 'ACTIVE', activatesAt: null, retiredAt: null });
  expect(newKey.id).not.toBe(oldKid);

  expect(await publishedKids()).toEqual([newKey.id]);
  expect(errorCode(await server.graphql(ME, {}, { token: oldToken }))).toBe('UNAUTHENTICATED');
  expect(errorCode(await server.graphql(MEMBERS, { orgId }, { token: apiKey }))).toBe('UNAUTHENTICATED');
  // The owner's own token was signed by the old key too.
  expect(errorCode(await server.graphql(ME, {}, { token: ownerToken }))).toBe('UNAUTHENTICATED');

  const fresh = (await server.login()).accessToken;
  expect(kidOf(fresh)).toBe(newKey.id);
  expect((await server.graphql(ME, {}, { token: fresh })).data.me).not.toBeNull();
  expect(kidOf(await issueApiKey(fresh))).toBe(newKey.id);

  const keys = await server.sql('SELECT id, status, retired_at, unpublished_at FROM signing_keys ORDER BY created_at');
  expect(keys).toEqual([
    { id: oldKid, status: 'RETIRED', retired_at: expect.any(Date), unpublished_at: expect.any(Date) },
    { id: newKey.id, status: 'ACTIVE', retired_at: null, unpublished_at: null },
  ]);
  const audit = await server.sql(
    `SELECT target_type, target_id, changes FROM audit_logs WHERE action = 'signing_key.rotated'`,
  );
  expect(audit).toEqual([
    {
      target_type: 'SigningKey',
      target_id: newKey.id,
      changes: { immediate: true, newKid: newKey.id, previousKid: oldKid },
    },
  ]);
  ownerToken = fresh;
});

it('publishes a NEXT key without switching when not immediate, and returns the same one when asked again', async () => {
  const [active] = await server.sql(`SELECT id FROM signing_keys WHERE status = 'ACTIVE'`);
  const first = await server.graphql(ROTATE, {}, { token: ownerToken });
  expect(first.errors).toBeUndefined();
  const next = first.data.rotateSigningKey;
  expect(next.status).toBe('NEXT');
  // The default lead: 10 minutes ahead (allowing for the clocks of this machine and the database).
  const lead = new Date(next.activatesAt).getTime() - Date.now();
  expect(lead).toBeGreaterThan(9 * 60_000);
  expect(lead).toBeLessThan(11 * 60_000);
  expect(await publishedKids()).toEqual(expect.arrayContaining([active.id, next.id]));

  const again = await server.graphql(ROTATE, { immediate: false }, { token: ownerToken });
  expect(again.data.rotateSigningKey.id).toBe(next.id);
  const token = (await server.login()).accessToken;
  expect(kidOf(token)).toBe(active.id);
  expect(await server.sql(`SELECT count(*)::int AS n FROM signing_keys WHERE status = 'NEXT'`)).toEqual([{ n: 1 }]);
});

it('lets no token of the old key through once the rotation has answered, even one used during it', async () => {
  // Requests verifying the old key while the rotation commits must not leave it cached as verified.
  const leaked = (await server.login()).accessToken;
  const apiKey = await issueApiKey();
  let rotated = false;
  const rotation = server.graphql(ROTATE, { immediate: true }, { token: (await server.login()).accessToken });
  void rotation.then(() => (rotated = true));
  const traffic = Array.from({ length: 6 }, async () => {
    while (!rotated) {
      await server.graphql(ME, {}, { token: leaked });
      await server.graphql(MEMBERS, { orgId }, { token: apiKey });
    }
  });
  expect((await rotation).errors).toBeUndefined();
  await Promise.all(traffic);
  for (const wait of [0, 300, 1_000]) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    expect(errorCode(await server.graphql(ME, {}, { token: leaked }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.graphql(MEMBERS, { orgId }, { token: apiKey }))).toBe('UNAUTHENTICATED');
  }
});
