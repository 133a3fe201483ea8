import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { embeddedServerPid } from '../support/embedded-server';
import { graphqlRequest } from '../support/graphql-client';
import {
  freePort,
  gatewayEnv,
  runScript,
  spawnScript,
  waitForHealthy,
  withTimeout,
  type SpawnedScript,
} from '../support/spawn-gateway';

/**
 * The newcomer's path and the process lifecycle: `portcullis serve` with no DATABASE_URL or
 * SECRET_KEY runs the embedded PostgreSQL server in DATA_DIR. The tests run in order on one
 * DATA_DIR: first start, a competing second gateway, the admin commands beside a serving
 * gateway, SIGTERM, the commands alone, restart, kill -9 and restart, stale pid files.
 */

const STARTUP_TIMEOUT_MS = 60_000;
const SHUTDOWN_TIMEOUT_MS = 20_000;

jest.setTimeout(STARTUP_TIMEOUT_MS + 30_000);

type Credentials = { email: string; password: string };
type Running = { gateway: SpawnedScript; url: string };

let dataDir: string;
const spawned: SpawnedScript[] = [];

function env(port: number): NodeJS.ProcessEnv {
  return gatewayEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', BCRYPT_COST: '4', LOG_LEVEL: 'info' });
}

async function startGatewayProcess(): Promise<Running> {
  const port = await freePort();
  const gateway = spawnScript('src/cli.ts', ['serve'], env(port));
  spawned.push(gateway);
  const url = `http://127.0.0.1:${port}`;
  await waitForHealthy(gateway, url, STARTUP_TIMEOUT_MS);
  return { gateway, url };
}

function command(args: string[]) {
  return runScript('src/cli.ts', args, gatewayEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), 60_000);
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

/** The embedded server's pid while it runs, else null. */
const serverPid = () => embeddedServerPid(dataDir);

let first: Running;
let credentials: Credentials;
let orgId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-embedded-'));
  // Under root the server runs as the OS user postgres, which must be able to enter it.
  await chmod(dataDir, 0o755);
  first = await startGatewayProcess();
});

afterAll(async () => {
  await Promise.all(spawned.map((script) => script.forceStop()));
  // A gateway killed above leaves its server running: stop it, and let it finish writing.
  const pid = await serverPid();
  if (pid) {
    process.kill(pid, 'SIGINT');
    while ((await serverPid()) === pid) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('the gateway on its embedded PostgreSQL server', () => {
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
    const orgs = await graphqlRequest(first.url, '{ me { memberships { org { id } } } }', {}, { token });
    orgId = orgs.data.me.memberships[0].org.id;
  });

  it('generates DATA_DIR/secret.key and the database password readable by their owner only', async () => {
    for (const file of ['secret.key', 'postgres.password']) {
      const found = await stat(path.join(dataDir, file));
      expect(found.isFile()).toBe(true);
      expect(found.mode & 0o777).toBe(0o600);
    }
    expect(await serverPid()).toEqual(expect.any(Number));
  });

  it('refuses a second gateway on the same DATA_DIR, naming the folder in use', async () => {
    const second = spawnScript('src/cli.ts', ['serve'], env(await freePort()));
    spawned.push(second);
    const exit = await withTimeout(second.exited, STARTUP_TIMEOUT_MS, () => 'the second process did not exit');
    expect(exit.code).toBe(1);
    expect(second.stderr()).toContain(
      `DATA_DIR ${dataDir} is in use by the gateway with pid ${first.gateway.child.pid}`,
    );
    expect(first.gateway.isRunning()).toBe(true);
  });

  it('runs the admin commands beside the serving gateway, under load, and keeps serving', async () => {
    const token = await signIn(first.url, credentials);
    let stop = false;
    const answers: string[] = [];
    const load = Promise.all(
      Array.from({ length: 4 }, async (_, client) => {
        for (let round = 0; !stop; round++) {
          const response = await graphqlRequest(
            first.url,
            'mutation ($input: CreateTeamInput!) { createTeam(input: $input) { id } }',
            { input: { orgId, name: `load ${client} ${round}` } },
            { token },
          );
          answers.push(response.errors ? JSON.stringify(response.errors) : 'ok');
        }
      }),
    );
    try {
      // At once, as a cron job and an operator might: each attaches to the gateway's server.
      const [orgChain, accountChain, prune, migrate] = await Promise.all([
        command(['audit', 'verify', '--org', orgId]),
        command(['audit', 'verify', '--account']),
        command(['audit', 'prune']),
        command(['migrate']),
      ]);
      expect({ code: orgChain.code, stderr: orgChain.stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(orgChain.stdout)).toMatchObject({ orgId, valid: true });
      expect(accountChain.code).toBe(0);
      expect(JSON.parse(accountChain.stdout)).toMatchObject({ chain: 'account', valid: true });
      expect(prune.code).toBe(0);
      expect(migrate.code).toBe(0);
    } finally {
      stop = true;
      await load;
    }
    expect(answers.length).toBeGreaterThan(4);
    expect(answers.filter((answer) => answer !== 'ok')).toEqual([]);
    // The commands attached to the gateway's server and left it running.
    expect(await meEmail(first.url, token)).toBe(credentials.email);
  });

  it(
    'shuts down on SIGTERM with exit code 0, stopping its server and releasing the folder',
    async () => {
      first.gateway.child.kill('SIGTERM');
      const exit = await withTimeout(first.gateway.exited, SHUTDOWN_TIMEOUT_MS, () => 'the gateway did not exit');
      expect({ ...exit, stderr: first.gateway.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(await serverPid()).toBeNull();
      await expect(stat(path.join(dataDir, 'portcullis.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
    },
    SHUTDOWN_TIMEOUT_MS + 5_000,
  );

  it('runs an admin command with no gateway: it starts the server for its work and stops it', async () => {
    const verified = await command(['audit', 'verify', '--org', orgId]);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true });
    expect(await serverPid()).toBeNull();
  });

  it('keeps its data across a restart: no new password, the same owner signs in', async () => {
    const restarted = await startGatewayProcess();
    expect(printedCredentials(restarted.gateway.stdout())).toBeNull();
    const token = await signIn(restarted.url, credentials);
    expect(await meEmail(restarted.url, token)).toBe(credentials.email);
    first = restarted;
  });

  it('adopts the server a gateway killed with SIGKILL left running, and serves the same data', async () => {
    const server = await serverPid();
    expect(server).toEqual(expect.any(Number));
    await first.gateway.forceStop();
    expect(await serverPid()).toBe(server);

    const restarted = await startGatewayProcess();
    expect(await serverPid()).toBe(server);
    const token = await signIn(restarted.url, credentials);
    expect(await meEmail(restarted.url, token)).toBe(credentials.email);
    first = restarted;
  });

  it('starts its server again when it dies under it, answering SERVICE_UNAVAILABLE meanwhile', async () => {
    const token = await signIn(first.url, credentials);
    const server = await serverPid();
    process.kill(server as number, 'SIGKILL');
    const answers: string[] = [];
    const deadline = Date.now() + 30_000;
    for (;;) {
      const response = await graphqlRequest(first.url, '{ me { email } }', {}, { token });
      if (response.data?.me?.email === credentials.email) break;
      answers.push(`${response.status} ${response.errors?.[0]?.extensions?.code}`);
      if (Date.now() > deadline) throw new Error(`no recovery: ${answers.slice(-3).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answers.filter((answer) => answer !== '503 SERVICE_UNAVAILABLE')).toEqual([]);
    expect(await serverPid()).not.toBe(server);
    expect(first.gateway.stdout()).toContain('the embedded PostgreSQL server is gone; starting it again');
  });

  it('is not blocked by a stale pid file naming a process that is not this gateway', async () => {
    await first.gateway.forceStop();
    const sleeper = spawn('sleep', ['60']);
    try {
      // An old-style pid file (no start time) naming a live process that is no gateway.
      await writeFile(path.join(dataDir, 'portcullis.pid'), `${sleeper.pid}\n`);
      const restarted = await startGatewayProcess();
      await restarted.gateway.forceStop();
      // A pid file whose pid was reused: the process's start time differs from the recorded one.
      await writeFile(path.join(dataDir, 'portcullis.pid'), `${process.pid} 1\n`);
      first = await startGatewayProcess();
      expect(await meEmail(first.url, await signIn(first.url, credentials))).toBe(credentials.email);
    } finally {
      sleeper.kill();
    }
  });
});
