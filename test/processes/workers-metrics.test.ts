import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scrape, valueOf } from '../observability/metrics-text';
import { createTestDatabase } from '../support/database';
import { PinnedConnection, serverProcessOf } from '../support/pinned-connection';
import { freePort, gatewayEnv, spawnScript, waitForHealthy, type SpawnedScript } from '../support/spawn-gateway';
import { OWNER_EMAIL, OWNER_PASSWORD, TEST_SECRET_KEY } from '../support/test-gateway';

/**
 * WORKERS=2 without METRICS_PORT: /metrics on the main port, answered by whichever worker gets the
 * connection, is the sum over both workers (the worker asks the primary), behind METRICS_TOKEN.
 */

const WORKERS = 2;
const METRICS_TOKEN = 'a-metrics-token-for-the-test';
const ME = '{ me { id } }';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
let port: number;
let primary: SpawnedScript;
const connections: PinnedConnection[] = [];

function servingPids(): number[] {
  return primary
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; pid?: number })
    .filter((line) => line.msg === 'worker serving')
    .map((line) => line.pid as number);
}

async function eventually(what: string, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen:\n${primary.stdout()}\n${primary.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-workers-metrics-'));
  port = await freePort();
  primary = spawnScript(
    'src/cli.ts',
    ['serve'],
    gatewayEnv({
      WORKERS: String(WORKERS),
      DATABASE_URL: database.url,
      SECRET_KEY: TEST_SECRET_KEY,
      METRICS_TOKEN,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: 'http://portcullis.test',
      DATA_DIR: dataDir,
      BCRYPT_COST: '4',
      BOOTSTRAP_EMAIL: OWNER_EMAIL,
      BOOTSTRAP_PASSWORD: OWNER_PASSWORD,
      LOG_LEVEL: 'info',
    }),
  );
  await waitForHealthy(primary, `http://127.0.0.1:${port}`, 150_000);
  await eventually('both workers serving', () => servingPids().length === WORKERS);
}, 300_000);

afterAll(async () => {
  for (const connection of connections) connection.close();
  await primary?.forceStop();
  for (const pid of servingPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone with the primary.
    }
  }
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

it('answers /metrics on the main port with the sum over every worker, behind METRICS_TOKEN', async () => {
  const login = new PinnedConnection(port);
  connections.push(login);
  const signedIn = await login.graphql(
    'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
    { e: OWNER_EMAIL, p: OWNER_PASSWORD },
  );
  const token = signedIn.body.data.login.accessToken as string;

  const byWorker = new Map<number, PinnedConnection>();
  for (let attempt = 0; attempt < 20 && byWorker.size < WORKERS; attempt++) {
    const connection = new PinnedConnection(port);
    connections.push(connection);
    expect((await connection.graphql(ME, {}, token)).status).toBe(200);
    const worker = await serverProcessOf(port, connection.localPort as number, servingPids());
    if (worker !== null && !byWorker.has(worker)) byWorker.set(worker, connection);
  }
  expect(byWorker.size).toBe(WORKERS);

  const url = `http://127.0.0.1:${port}`;
  const unauthorised = await fetch(`${url}/metrics`);
  await unauthorised.arrayBuffer();
  expect(unauthorised.status).toBe(401);

  const authorization = { authorization: `Bearer ${METRICS_TOKEN}` };
  const meAnswered = async () =>
    valueOf(await scrape(url, authorization), 'portcullis_http_requests_total', { operation: 'me', code: '200' });
  const before = await meAnswered();
  for (const connection of byWorker.values()) {
    for (let sent = 0; sent < 3; sent++) expect((await connection.graphql(ME, {}, token)).status).toBe(200);
  }
  await eventually('every request counted', async () => (await meAnswered()) >= before + 3 * WORKERS);
  // Each worker, scraped on its own connection, answers the same sum.
  for (const connection of byWorker.values()) {
    const scraped = await connection.request('GET', '/metrics', undefined, authorization);
    expect(valueOf(String(scraped.body), 'portcullis_http_requests_total', { operation: 'me', code: '200' })).toBe(
      before + 3 * WORKERS,
    );
  }
});
