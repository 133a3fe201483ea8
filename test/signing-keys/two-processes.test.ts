import { decodeProtectedHeader } from 'jose';
import { errorCode, graphqlRequest } from '../support/graphql-client';
import { spawnSecondGateway } from '../support/second-gateway';
import { waitForHealthy, type SpawnedScript } from '../support/spawn-gateway';
import { OWNER_EMAIL, OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(120_000);

const ENV = { SIGNING_KEY_PUBLICATION_LEAD: '3s', JWKS_MAX_AGE: '3s' };
const ROTATE = `mutation ($immediate: Boolean) { rotateSigningKey(immediate: $immediate) { id status activatesAt } }`;
const LOGIN = `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`;

let server: TestGateway;
let second: SpawnedScript;
let secondUrl: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

async function loginAt(url: string): Promise<string> {
  const response = await graphqlRequest(url, LOGIN, { email: OWNER_EMAIL, password: OWNER_PASSWORD });
  if (!response.data?.login) throw new Error(JSON.stringify(response.errors));
  return response.data.login.accessToken;
}

beforeAll(async () => {
  server = await startTestGateway(ENV);
  ({ spawned: second, url: secondUrl } = await spawnSecondGateway(server, ENV));
  await waitForHealthy(second, secondUrl);
});

afterAll(async () => {
  await second?.forceStop();
  await server?.close();
});

it('creates one NEXT key when two processes rotate at once, and both sign with it after the switch', async () => {
  const [previous] = await server.sql(`SELECT id FROM signing_keys WHERE status = 'ACTIVE'`);
  const [tokenHere, tokenThere] = await Promise.all([loginAt(server.url), loginAt(secondUrl)]);
  const [here, there] = await Promise.all([
    graphqlRequest(server.url, ROTATE, { immediate: false }, { token: tokenHere }),
    graphqlRequest(secondUrl, ROTATE, { immediate: false }, { token: tokenThere }),
  ]);
  expect(here.errors).toBeUndefined();
  expect(there.errors).toBeUndefined();
  const next = here.data.rotateSigningKey;
  expect(next.status).toBe('NEXT');
  expect(there.data.rotateSigningKey.id).toBe(next.id);
  expect(await server.sql(`SELECT id FROM signing_keys WHERE status = 'NEXT'`)).toEqual([{ id: next.id }]);

  // Before activatesAt both still sign with the previous key.
  expect([kidOf(await loginAt(server.url)), kidOf(await loginAt(secondUrl))]).toEqual([previous.id, previous.id]);

  await sleep(Math.max(0, new Date(next.activatesAt).getTime() - Date.now()) + 200);
  expect([kidOf(await loginAt(server.url)), kidOf(await loginAt(secondUrl))]).toEqual([next.id, next.id]);

  // One of the processes switched the statuses, once.
  const deadline = Date.now() + 10_000;
  let statuses: Array<{ id: string; status: string }> = [];
  while (Date.now() < deadline) {
    statuses = await server.sql(`SELECT id, status FROM signing_keys ORDER BY created_at`);
    if (statuses.some((key) => key.id === next.id && key.status === 'ACTIVE')) break;
    await sleep(200);
  }
  expect(statuses).toEqual([
    { id: previous.id, status: 'RETIRED' },
    { id: next.id, status: 'ACTIVE' },
  ]);
});

it("stops another process accepting the old key's tokens within about a second of an immediate rotation", async () => {
  const oldThere = await loginAt(secondUrl);
  expect((await graphqlRequest(secondUrl, '{ me { id } }', {}, { token: oldThere })).errors).toBeUndefined();

  const { accessToken } = await server.login();
  const rotated = await server.graphql(ROTATE, { immediate: true }, { token: accessToken });
  expect(rotated.errors).toBeUndefined();
  const committedAt = Date.now();
  let refusedAfter: number | null = null;
  while (Date.now() - committedAt < 5_000) {
    const answer = await graphqlRequest(secondUrl, '{ me { id } }', {}, { token: oldThere });
    if (errorCode(answer) === 'UNAUTHENTICATED') {
      refusedAfter = Date.now() - committedAt;
      break;
    }
    await sleep(50);
  }
  expect(refusedAfter).not.toBeNull();
  expect(refusedAfter).toBeLessThan(1_500);
  const jwks = (await (await fetch(`${secondUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  const kids = jwks.keys.map((key) => key.kid);
  // The key retired by the first test's scheduled switch stays: its tokens may still be valid.
  expect(kids).not.toContain(kidOf(oldThere));
  expect(kids).toContain(rotated.data.rotateSigningKey.id);
  expect(kidOf(await loginAt(secondUrl))).toBe(rotated.data.rotateSigningKey.id);
});
