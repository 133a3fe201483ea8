import { decodeProtectedHeader } from 'jose';
import { graphqlRequest } from '../support/graphql-client';
import { spawnSecondGateway } from '../support/second-gateway';
import { waitForHealthy, type SpawnedScript } from '../support/spawn-gateway';
import { OWNER_EMAIL, OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(120_000);

// Both processes' timers find the key due at about the same moment, every 8 s.
const ENV = { SIGNING_KEY_ROTATION: '8s', SIGNING_KEY_PUBLICATION_LEAD: '3s', JWKS_MAX_AGE: '3s' };
const LOGIN = `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`;

let server: TestGateway;
let second: SpawnedScript;
let secondUrl: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function kidSignedAt(url: string): Promise<string> {
  const response = await graphqlRequest(url, LOGIN, { email: OWNER_EMAIL, password: OWNER_PASSWORD });
  if (!response.data?.login) throw new Error(JSON.stringify(response.errors));
  return decodeProtectedHeader(response.data.login.accessToken).kid as string;
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

it('rotates on schedule with one NEXT key per rotation, both processes signing with the same key', async () => {
  const rotations: string[] = [];
  const deadline = Date.now() + 30_000;
  while (rotations.length < 2 && Date.now() < deadline) {
    const [active] = await server.sql(`SELECT id, activates_at FROM signing_keys WHERE status = 'ACTIVE'`);
    if (active.activates_at && !rotations.includes(active.id)) {
      rotations.push(active.id);
      // Once the switch is in the database, both sign with the new key.
      expect([await kidSignedAt(server.url), await kidSignedAt(secondUrl)]).toEqual([active.id, active.id]);
    }
    await sleep(250);
  }
  expect(rotations).toHaveLength(2);
  type Key = { status: string; created_at: Date; activates_at: Date | null };
  const keys: Key[] = await server.sql(`SELECT status, created_at, activates_at FROM signing_keys ORDER BY created_at`);
  // Though both processes tried, each NEXT key was made only after the one before it took over.
  for (let i = 2; i < keys.length; i++) {
    expect(keys[i].created_at.getTime()).toBeGreaterThanOrEqual(keys[i - 1].activates_at!.getTime());
  }
  expect(keys.filter((key) => key.status === 'ACTIVE')).toHaveLength(1);
  expect(keys.filter((key) => key.status === 'NEXT').length).toBeLessThanOrEqual(1);
  expect(keys.length).toBeGreaterThanOrEqual(3);
});
