import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { graphqlRequest } from '../support/graphql-client';
import {
  freePort,
  gatewayEnv,
  spawnScript,
  waitForHealthy,
  withTimeout,
  type SpawnedScript,
} from '../support/spawn-gateway';

/**
 * The newcomer's path: `npm run dev` with no DATABASE_URL or SECRET_KEY, so the gateway runs the
 * embedded PGlite in DATA_DIR and prints a generated owner password once. The tests run in order
 * on one DATA_DIR: first start, a competing second process, SIGTERM, restart.
 */

const STARTUP_TIMEOUT_MS = 60_000;
/** main.ts gives a graceful shutdown 10 s before it gives up with exit code 1. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

jest.setTimeout(STARTUP_TIMEOUT_MS + 10_000);

type Credentials = { email: string; password: string };

let dataDir: string;
const spawned: SpawnedScript[] = [];

async function startGatewayProcess(): Promise<{ gateway: SpawnedScript; url: string }> {
  const port = await freePort();
  const gateway = spawnScript('src/main.ts', [], embeddedEnv(port));
  spawned.push(gateway);
  const url = `http://127.0.0.1:${port}`;
  await waitForHealthy(gateway, url, STARTUP_TIMEOUT_MS);
  return { gateway, url };
}

function embeddedEnv(port: number): NodeJS.ProcessEnv {
  return gatewayEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', BCRYPT_COST: '4', LOG_LEVEL: 'info' });
}

/** The block announceBootstrap writes to stdout; null when no password was printed. */
function printedCredentials(stdout: string): Credentials | null {
  const match = /^ +email: +(\S+)\n +password: +(\S+)$/m.exec(stdout);
  return match ? { email: match[1], password: match[2] } : null;
}

async function signIn(url: string, credentials: Credentials): Promise<string> {
  const response = await graphqlRequest(
    url,
    'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    credentials,
  );
  expect(response.errors).toBeUndefined();
  return response.data.login.accessToken;
}

async function meEmail(url: string, token: string): Promise<string> {
  const response = await graphqlRequest(url, '{ me { email } }', {}, { token });
  expect(response.errors).toBeUndefined();
  return response.data.me.email;
}

let first: { gateway: SpawnedScript; url: string };
let credentials: Credentials;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-embedded-'));
  first = await startGatewayProcess();
});

afterAll(async () => {
  await Promise.all(spawned.map((script) => script.forceStop()));
  await rm(dataDir, { recursive: true, force: true });
});

describe('the gateway on its embedded database', () => {
  it('prints the generated owner credentials once, and they sign in', async () => {
    const stdout = first.gateway.stdout();
    const printed = printedCredentials(stdout);
    expect(printed).not.toBeNull();
    credentials = printed as Credentials;
    expect(stdout.match(/password:/g)).toHaveLength(1);
    // Shown on the console block only, never inside a structured log line.
    const logLines = stdout.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((line) => line.includes(credentials.password))).toEqual([]);

    const token = await signIn(first.url, credentials);
    expect(await meEmail(first.url, token)).toBe(credentials.email);
  });

  it('generates DATA_DIR/secret.key readable by its owner only', async () => {
    const key = await stat(path.join(dataDir, 'secret.key'));
    expect(key.isFile()).toBe(true);
    expect(key.mode & 0o777).toBe(0o600);
  });

  it('refuses a second process on the same DATA_DIR, naming the folder in use', async () => {
    const second = spawnScript('src/main.ts', [], embeddedEnv(await freePort()));
    spawned.push(second);
    const exit = await withTimeout(second.exited, STARTUP_TIMEOUT_MS, () => 'the second process did not exit');
    expect(exit.code).toBeGreaterThan(0);
    expect(second.stderr()).toContain(`${dataDir} is in use`);
    expect(first.gateway.isRunning()).toBe(true);
  });

  it(
    'shuts down gracefully on SIGTERM, with exit code 0',
    async () => {
      first.gateway.child.kill('SIGTERM');
      const exit = await withTimeout(first.gateway.exited, SHUTDOWN_TIMEOUT_MS, () => 'the gateway did not exit');
      expect({ ...exit, stderr: first.gateway.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(first.gateway.stdout()).not.toContain('shutdown took too long');
      // The folder lock is released only after the database has closed.
      await expect(stat(path.join(dataDir, 'portcullis.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
    },
    SHUTDOWN_TIMEOUT_MS + 5_000,
  );

  it('keeps its data across a restart: no new password, the same owner signs in', async () => {
    await first.gateway.forceStop();
    const restarted = await startGatewayProcess();
    expect(printedCredentials(restarted.gateway.stdout())).toBeNull();
    expect(restarted.gateway.stdout()).not.toContain('password:');

    const token = await signIn(restarted.url, credentials);
    expect(await meEmail(restarted.url, token)).toBe(credentials.email);
  });
});
