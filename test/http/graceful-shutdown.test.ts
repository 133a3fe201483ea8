import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '../support/database';
import {
  freePort,
  gatewayEnv,
  spawnScript,
  waitForHealthy,
  withTimeout,
  type Exit,
  type SpawnedScript,
} from '../support/spawn-gateway';
import { OWNER_EMAIL, OWNER_PASSWORD, TEST_SECRET_KEY } from '../support/test-gateway';

const CLIENTS = 8;
const LOAD_BEFORE_SIGNAL_MS = 1500;
const ME = JSON.stringify({ query: '{ me { id email } }' });

type Gateway = { spawned: SpawnedScript; port: number; token: string };

/** One request as the client saw it; times are Date.now(), comparable with the gateway's log times. */
type Exchange = {
  sentAt: number;
  /** When the whole request had been handed to the operating system. */
  writtenAt?: number;
  answeredAt?: number;
  socketPort?: number;
  status?: number;
  connection?: string;
  body?: string;
  /** The answer began but did not arrive in full. */
  truncated?: boolean;
  errorCode?: string;
};

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
let running: SpawnedScript | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-shutdown-'));
});

afterEach(async () => {
  await running?.forceStop();
  running = undefined;
});

afterAll(async () => {
  await database.drop();
  await rm(dataDir, { recursive: true, force: true });
});

async function startGateway(env: Record<string, string> = {}): Promise<Gateway> {
  const port = await freePort();
  const spawned = spawnScript(
    'src/main.ts',
    [],
    gatewayEnv({
      DATABASE_URL: database.url,
      SECRET_KEY: TEST_SECRET_KEY,
      BCRYPT_COST: '4',
      BOOTSTRAP_EMAIL: OWNER_EMAIL,
      BOOTSTRAP_PASSWORD: OWNER_PASSWORD,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...env,
    }),
  );
  running = spawned;
  await waitForHealthy(spawned, `http://127.0.0.1:${port}`);
  const login = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
      variables: { e: OWNER_EMAIL, p: OWNER_PASSWORD },
    }),
  });
  const token = ((await login.json()) as { data: { login: { accessToken: string } } }).data.login.accessToken;
  return { spawned, port, token };
}

/** When the gateway began closing, by its own log line (pino writes epoch milliseconds). */
function shutdownStartedAt(spawned: SpawnedScript): number | undefined {
  for (const line of spawned.stdout().split('\n')) {
    if (!line.includes('"shutting down"')) continue;
    return (JSON.parse(line) as { time: number }).time;
  }
  return undefined;
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function meRequest(gateway: Gateway, agent: http.Agent, exchange: Exchange): http.ClientRequest {
  return http
    .request({
      host: '127.0.0.1',
      port: gateway.port,
      path: '/graphql',
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(ME),
        authorization: `Bearer ${gateway.token}`,
      },
    })
    .on('finish', () => (exchange.writtenAt = Date.now()))
    .on('socket', (socket) => {
      const record = () => (exchange.socketPort = socket.localPort);
      if (socket.localPort) record();
      else socket.once('connect', record);
    });
}

/** Sends `{ me }` and waits for the whole answer or the failure; never rejects. */
function exchangeMe(gateway: Gateway, agent: http.Agent): Promise<Exchange> {
  const exchange: Exchange = { sentAt: Date.now() };
  return new Promise((resolve) => {
    const request = meRequest(gateway, agent, exchange);
    request.on('response', (response) => {
      exchange.status = response.statusCode;
      exchange.connection = response.headers.connection;
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        exchange.truncated = !response.complete;
        exchange.body = body;
        exchange.answeredAt = Date.now();
        resolve(exchange);
      });
      response.on('error', () => {
        exchange.truncated = true;
        resolve(exchange);
      });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (exchange.status !== undefined) exchange.truncated = true;
      exchange.errorCode = error.code ?? error.message;
      resolve(exchange);
    });
    request.end(ME);
  });
}

/** A `{ me }` request whose body arrives in two parts, the second only when `finish` is called. */
function slowMe(gateway: Gateway) {
  const exchange: Exchange = { sentAt: Date.now() };
  const request = meRequest(gateway, new http.Agent({ keepAlive: true }), exchange);
  const answered = new Promise<Exchange>((resolve) => {
    request.on('response', (response) => {
      exchange.status = response.statusCode;
      exchange.connection = response.headers.connection;
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        exchange.body = body;
        exchange.truncated = !response.complete;
        resolve(exchange);
      });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      exchange.errorCode = error.code ?? error.message;
      resolve(exchange);
    });
  });
  const half = Math.floor(ME.length / 2);
  request.write(ME.slice(0, half));
  return { answered, finish: () => request.end(ME.slice(half)) };
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

function isCompleteMe(exchange: Exchange): boolean {
  if (exchange.status !== 200 || exchange.truncated) return false;
  return (JSON.parse(exchange.body ?? '') as { data?: { me?: { email?: string } } }).data?.me?.email === OWNER_EMAIL;
}

async function exitOf(spawned: SpawnedScript, timeoutMs: number): Promise<Exit & { at: number }> {
  const exit = await withTimeout(spawned.exited, timeoutMs, () => 'the gateway did not exit');
  return { ...exit, at: Date.now() };
}

it('SIGTERM under a keep-alive load: every answer is whole, each connection ends after one more, exit 0', async () => {
  const gateway = await startGateway();
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const exchanges: Exchange[] = [];
  let exited = false;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (!exited) {
      const exchange = await exchangeMe(gateway, agent);
      exchanges.push(exchange);
      // A refused connection is retried at once: the load goes on until the process is gone.
      if (exchange.errorCode) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
  // Two requests the gateway is still reading when the signal comes, finished once it is closing.
  await new Promise((resolve) => setTimeout(resolve, LOAD_BEFORE_SIGNAL_MS - 300));
  const slow = [slowMe(gateway), slowMe(gateway)];
  await new Promise((resolve) => setTimeout(resolve, 300));

  const signalledAt = Date.now();
  gateway.spawned.child.kill('SIGTERM');
  const closingAt = await waitFor(() => shutdownStartedAt(gateway.spawned), 5_000, 'no "shutting down" line');
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const request of slow) request.finish();
  const slowAnswers = await Promise.all(slow.map((request) => request.answered));
  const exit = await exitOf(gateway.spawned, 10_000);
  exited = true;
  await Promise.all(clients);
  agent.destroy();

  const answered = exchanges.filter((exchange) => exchange.status !== undefined);
  const failed = exchanges.filter((exchange) => exchange.status === undefined);
  const receivedWhileClosing = answered.filter((exchange) => exchange.answeredAt! > closingAt);
  const sentWhileClosing = answered.filter((exchange) => exchange.sentAt > closingAt);
  console.info(
    `keep-alive load: ${answered.length} answered, ${receivedWhileClosing.length} of them after closing began, ` +
      `${receivedWhileClosing.filter((exchange) => exchange.connection === 'close').length} with Connection: close ` +
      `(${sentWhileClosing.length} sent after); unanswered: ` +
      `${failed.filter((exchange) => exchange.errorCode === 'ECONNREFUSED').length} refused connections, ` +
      `${failed.filter((exchange) => exchange.errorCode !== 'ECONNREFUSED').length} other; ` +
      `exit ${exit.code} ${exit.at - signalledAt} ms after SIGTERM`,
  );

  expect(exit.code).toBe(0);
  // SHUTDOWN_GRACE is 10 s by default: draining takes what the requests in flight take.
  expect(exit.at - signalledAt).toBeLessThan(3_000);
  expect(closingAt).toBeGreaterThanOrEqual(signalledAt);
  expect(answered.filter((exchange) => exchange.sentAt < signalledAt).length).toBeGreaterThan(50);

  // Every answer the gateway began is a whole 200 with the caller's data.
  expect(answered.filter((exchange) => !isCompleteMe(exchange))).toEqual([]);
  for (const answer of slowAnswers) {
    expect(isCompleteMe(answer)).toBe(true);
    expect(answer.connection).toBe('close');
  }
  // What failed never got an answer: a new connection refused, or a kept-alive one the gateway ended
  // while idle, crossing a request sent after the signal. Nothing written before it went unanswered.
  expect(failed.filter((exchange) => !['ECONNREFUSED', 'ECONNRESET'].includes(exchange.errorCode!))).toEqual([]);
  expect(failed.filter((exchange) => exchange.writtenAt! < signalledAt)).toEqual([]);

  // No connection goes on being served: a request sent once the gateway was closing is answered
  // with Connection: close, so at most one per connection, and at most one more answer (written
  // before closing began) reaches a client after it.
  expect(sentWhileClosing.filter((exchange) => exchange.connection !== 'close')).toEqual([]);
  const countPerConnection = (list: Exchange[]) => {
    const counts = new Map<number | undefined, number>();
    for (const exchange of list) counts.set(exchange.socketPort, (counts.get(exchange.socketPort) ?? 0) + 1);
    return [...counts.values()];
  };
  expect(countPerConnection(sentWhileClosing).filter((count) => count > 1)).toEqual([]);
  expect(countPerConnection(receivedWhileClosing).filter((count) => count > 2)).toEqual([]);
  const lastLoadAnswerAt = Math.max(...answered.map((exchange) => exchange.answeredAt!));
  expect(lastLoadAnswerAt - closingAt).toBeLessThan(1_000);
}, 90_000);

it('SIGTERM lets a request in flight finish, refuses new connections meanwhile, and exits 0', async () => {
  const gateway = await startGateway();
  const slow = slowMe(gateway);
  // The request's headers and half its body are in: the gateway is reading it.
  await new Promise((resolve) => setTimeout(resolve, 300));

  gateway.spawned.child.kill('SIGTERM');
  await waitFor(() => shutdownStartedAt(gateway.spawned), 5_000, 'the gateway did not log shutting down');
  // The listening socket closes within moments of the log line.
  const deadline = Date.now() + 2_000;
  while (!(await connectionRefused(gateway.port)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(await connectionRefused(gateway.port)).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(gateway.spawned.isRunning()).toBe(true);

  slow.finish();
  const exchange = await slow.answered;
  expect(isCompleteMe(exchange)).toBe(true);
  expect(exchange.connection).toBe('close');
  const exit = await exitOf(gateway.spawned, 5_000);
  expect(exit.code).toBe(0);
}, 90_000);

it('exits 1 when a request is still unfinished at the end of SHUTDOWN_GRACE, cutting its connection', async () => {
  const gateway = await startGateway({ SHUTDOWN_GRACE: '1s' });
  const slow = slowMe(gateway);
  await new Promise((resolve) => setTimeout(resolve, 300));

  const signalledAt = Date.now();
  gateway.spawned.child.kill('SIGTERM');
  const exit = await exitOf(gateway.spawned, 10_000);
  expect(exit.code).toBe(1);
  expect(exit.at - signalledAt).toBeGreaterThanOrEqual(1_000);
  expect(exit.at - signalledAt).toBeLessThan(5_000);
  const exchange = await slow.answered;
  expect(exchange.status).toBeUndefined();
  expect(exchange.errorCode).toBe('ECONNRESET');
  expect(gateway.spawned.stdout()).toContain('requests were still running at the end of the grace period');
}, 90_000);

it('is not held up by connections that never sent a whole request (preconnects, health checks, scans)', async () => {
  const gateway = await startGateway();
  const silent = await openSocket(gateway.port);
  const halfHeaders = await openSocket(gateway.port);
  halfHeaders.write('POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  await new Promise((resolve) => setTimeout(resolve, 200));

  const signalled = Date.now();
  gateway.spawned.child.kill('SIGTERM');
  const exit = await exitOf(gateway.spawned, 8_000);
  expect(exit.code).toBe(0);
  expect(Date.now() - signalled).toBeLessThan(5_000);
  silent.destroy();
  halfHeaders.destroy();
}, 90_000);

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}
