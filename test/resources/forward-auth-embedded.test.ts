import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * The embedded server hears invalidations too: its connection takes the password separately (the
 * listener once connected without it and the cache stayed off), and a change there reaches a warm
 * /auth/check through the triggers' NOTIFY.
 */
jest.setTimeout(180_000);

let dataDir: string;
let server: TestGateway;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-embedded-forward-auth-'));
  server = await startEmbeddedTestGateway(dataDir);
});

afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function statementsOf(call: () => Promise<unknown>): Promise<number> {
  const before = server.gateway.database.statements.total;
  await call();
  return server.gateway.database.statements.total - before;
}

it('answers a warm /auth/check from the cache, and forgets it when another connection locks the account', async () => {
  const { accessToken, userId } = await server.login();
  const check = async () =>
    (await fetch(`${server.url}/auth/check`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
  const deadline = Date.now() + 5_000;
  let warm = -1;
  while (warm !== 0 && Date.now() < deadline) {
    expect(await check()).toBe(200);
    warm = await statementsOf(check);
  }
  expect(warm).toBe(0);

  const outside = new Client({ connectionString: server.databaseUrl });
  await outside.connect();
  try {
    await outside.query('UPDATE users SET locked_at = now() WHERE id = $1', [userId]);
  } finally {
    await outside.end();
  }
  const locked = Date.now();
  let status = await check();
  while (status !== 401 && Date.now() - locked < 1_200) status = await check();
  expect(status).toBe(401);
});
