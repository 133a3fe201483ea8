import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { Client } from 'pg';
import { scrape, valueOf } from '../observability/metrics-text';
import { createTestDatabase } from '../support/database';
import { PinnedConnection, serverProcessOf } from '../support/pinned-connection';
import {
  freePort,
  gatewayEnv,
  spawnScript,
  waitForHealthy,
  withTimeout,
  type SpawnedScript,
} from '../support/spawn-gateway';
import { TEST_SECRET_KEY } from '../support/test-gateway';

/**
 * WORKERS=3: one `portcullis serve` whose node:cluster primary runs three gateway workers on one
 * port and one database. Which worker answered a request is read from the kernel (the process
 * holding the server end of its connection), so the gateway exposes nothing for the test.
 */

const WORKERS = 3;
const OWNER_EMAIL = 'owner@portcullis.local';
const LOGIN = `mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;
const ME = '{ me { id } }';

type LogLine = { msg: string; worker?: number; pid?: number; migration?: string; code?: number };

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
let port: number;
let metricsPort: number;
let primary: SpawnedScript;
const connections: PinnedConnection[] = [];

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The pids of the workers the primary reported serving, oldest first. */
function servingPids(): number[] {
  return logLines(primary.stdout())
    .filter((line) => line.msg === 'worker serving')
    .map((line) => line.pid as number);
}

async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // A killed child stays a zombie (state Z) until its parent reaps it.
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | null | undefined> | T | null | undefined): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen:\n${primary.stdout()}\n${primary.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function login(password: string): Promise<string> {
  const connection = new PinnedConnection(port);
  try {
    const answer = await connection.graphql(LOGIN, { e: OWNER_EMAIL, p: password });
    if (!answer.body.data?.login) throw new Error(JSON.stringify(answer.body));
    return answer.body.data.login.accessToken as string;
  } finally {
    connection.close();
  }
}

/** A kept-alive connection to each worker (by pid), found by opening connections until each has one. */
async function connectionPerWorker(pids: number[], token: string): Promise<Map<number, PinnedConnection>> {
  const byWorker = new Map<number, PinnedConnection>();
  for (let attempt = 0; attempt < 30 && byWorker.size < pids.length; attempt++) {
    const connection = new PinnedConnection(port);
    connections.push(connection);
    expect((await connection.graphql(ME, {}, token)).status).toBe(200);
    const worker = await serverProcessOf(port, connection.localPort as number, pids);
    if (worker !== null && !byWorker.has(worker)) byWorker.set(worker, connection);
  }
  return byWorker;
}

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-workers-'));
  port = await freePort();
  metricsPort = await freePort();
  primary = spawnScript(
    'src/cli.ts',
    ['serve'],
    gatewayEnv({
      WORKERS: String(WORKERS),
      DATABASE_URL: database.url,
      SECRET_KEY: TEST_SECRET_KEY,
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      PUBLIC_URL: 'http://portcullis.test',
      DATA_DIR: dataDir,
      BCRYPT_COST: '4',
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE: '5s',
    }),
  );
  await waitForHealthy(primary, `http://127.0.0.1:${port}`, 150_000);
  await until('three workers serving', () => servingPids().length === WORKERS);
}, 300_000);

afterAll(async () => {
  for (const connection of connections) connection.close();
  await primary?.forceStop();
  // A SIGKILLed primary leaves its workers; they exit when they find their channel to it closed.
  for (const pid of servingPids()) if (await isRunning(pid)) process.kill(pid, 'SIGKILL');
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

it('forks three workers of the primary, which migrate once and bootstrap one owner', async () => {
  const pids = servingPids();
  expect(new Set(pids).size).toBe(WORKERS);
  for (const pid of pids) expect(await parentOf(pid)).toBe(primary.child.pid);

  const lines = logLines(primary.stdout());
  const listening = lines.filter((line) => line.msg === 'portcullis is listening');
  expect(new Set(listening.map((line) => line.worker))).toEqual(new Set([1, 2, 3]));
  // Every line a worker writes names it; the primary's own lines are the only ones without.
  const primaryMessages = new Set(['starting workers', 'worker serving']);
  expect(lines.filter((line) => line.worker === undefined && !primaryMessages.has(line.msg))).toEqual([]);

  const migrations = lines.filter((line) => line.msg === 'applied migration');
  expect(migrations.length).toBeGreaterThan(0);
  expect(new Set(migrations.map((line) => line.migration)).size).toBe(migrations.length);
  expect(new Set(migrations.map((line) => line.worker)).size).toBe(1);

  const passwords = [...primary.stdout().matchAll(/^ {4}password: +(\S+)$/gm)].map((match) => match[1]);
  expect(passwords).toHaveLength(1);
  const client = new Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM users');
    expect(rows[0].count).toBe('1');
  } finally {
    await client.end();
  }
  expect(await login(passwords[0])).toEqual(expect.any(String));
});

it('serves from every worker, and each refuses a revoked session on its next request', async () => {
  const [password] = [...primary.stdout().matchAll(/^ {4}password: +(\S+)$/gm)].map((match) => match[1]);
  const admin = await login(password);
  const victim = await login(password);
  const byWorker = await connectionPerWorker(servingPids(), admin);
  expect(byWorker.size).toBe(WORKERS);
  for (const connection of byWorker.values()) {
    expect((await connection.graphql(ME, {}, victim)).body.data.me.id).toEqual(expect.any(String));
  }

  const [revoker] = byWorker.values();
  const revoked = await revoker.graphql(
    'mutation ($id: ID!) { revokeSession(id: $id) }',
    { id: decodeJwt(victim).sid },
    admin,
  );
  expect(revoked.body).toEqual({ data: { revokeSession: true } });

  for (const [pid, connection] of byWorker) {
    const refused = await connection.graphql(ME, {}, victim);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await connection.graphql(ME, {}, admin)).body.data.me.id).toEqual(expect.any(String));
    // Still the same worker: the refusal came from each of them.
    expect(await serverProcessOf(port, connection.localPort as number, [pid])).toBe(pid);
  }
});

it('serves on METRICS_PORT, from the primary, the sum of every worker’s metrics', async () => {
  const [password] = [...primary.stdout().matchAll(/^ {4}password: +(\S+)$/gm)].map((match) => match[1]);
  const token = await login(password);
  const byWorker = await connectionPerWorker(servingPids(), token);
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const meAnswered = async () =>
    valueOf(await scrape(metricsUrl), 'portcullis_http_requests_total', { operation: 'me', code: '200' });
  const before = await meAnswered();
  for (const connection of byWorker.values()) {
    for (let sent = 0; sent < 2; sent++) expect((await connection.graphql(ME, {}, token)).status).toBe(200);
  }
  // A request is counted once its answer has gone, so the last one may need a moment.
  await until('every request counted', async () => (await meAnswered()) >= before + 2 * WORKERS);
  expect(await meAnswered()).toBe(before + 2 * WORKERS);
  const mainPort = await fetch(`http://127.0.0.1:${port}/metrics`);
  await mainPort.arrayBuffer();
  expect(mainPort.status).toBe(404);
});

it('replaces a worker that dies, leaving no request unanswered', async () => {
  // New connections all the while: one the dying worker held may be cut, but none may hang.
  let probing = true;
  const hung: string[] = [];
  const probes = Array.from({ length: 4 }, async () => {
    while (probing) {
      await fetch(`http://127.0.0.1:${port}/healthz`, {
        headers: { connection: 'close' },
        signal: AbortSignal.timeout(5_000),
      }).then(
        (response) => response.arrayBuffer(),
        (error: Error) => error.name === 'TimeoutError' && hung.push(error.message),
      );
    }
  });
  const [killed, ...others] = servingPids();
  await sleep(300);
  process.kill(killed, 'SIGKILL');
  await sleep(1_000);
  probing = false;
  await Promise.all(probes);
  expect(hung).toEqual([]);
  const replacement = await until('a replacement worker', () =>
    servingPids().find((pid) => pid !== killed && !others.includes(pid)),
  );
  expect(await parentOf(replacement)).toBe(primary.child.pid);
  expect(logLines(primary.stdout()).some((line) => line.msg === 'worker exited; starting another')).toBe(true);

  const [password] = [...primary.stdout().matchAll(/^ {4}password: +(\S+)$/gm)].map((match) => match[1]);
  const token = await login(password);
  const live = [replacement, ...others];
  const byWorker = await connectionPerWorker(live, token);
  expect([...byWorker.keys()].sort()).toEqual([...live].sort());
}, 180_000);

it('on SIGTERM, every worker drains and the primary exits 0', async () => {
  const live = servingPids().slice(-WORKERS);
  primary.child.kill('SIGTERM');
  const exit = await withTimeout(primary.exited, 30_000, () => 'the primary did not exit');
  expect(exit).toEqual({ code: 0, signal: null });
  const stopped = logLines(primary.stdout()).filter((line) => line.msg === 'stopped');
  expect(stopped).toHaveLength(WORKERS);
  for (const pid of live) expect(await isRunning(pid)).toBe(false);
});
