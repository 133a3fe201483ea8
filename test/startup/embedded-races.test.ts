import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/core/config/config';
import { openDatabase, type Database } from '../../src/core/db/database';
import { createLogger } from '../../src/core/logger';
import { isProcessAlive } from '../../src/core/process/processes';
import { embeddedServerPid } from '../support/embedded-server';
import {
  freePort,
  gatewayEnv,
  REPO_ROOT,
  runScript,
  spawnScript,
  waitForHealthy,
  withTimeout,
} from '../support/spawn-gateway';

/**
 * What happens when several processes use one DATA_DIR at once, or when it is not what it should
 * be: the gateway and the admin commands agree, through a start lock, on who initialises the
 * folder and who starts and stops its server; refusals leave the folder as they found it.
 */

jest.setTimeout(180_000);

let workspace: string;

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'portcullis-embedded-races-'));
  // Under root the server runs as the OS user postgres, which must be able to enter it.
  await chmod(workspace, 0o755);
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

function asTool(dataDir: string, env: Record<string, string> = {}): Promise<Database> {
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_POOL_SIZE: '2', ...env });
  return openDatabase(config, createLogger('silent'), { kind: 'tool', create: true });
}

function asGateway(dataDir: string, env: Record<string, string> = {}): Promise<Database> {
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_POOL_SIZE: '2', ...env });
  return openDatabase(config, createLogger('silent'));
}

const serverPid = embeddedServerPid;

it('initialises a new folder once when the gateway and an admin command start on it at once', async () => {
  const dataDir = path.join(workspace, 'first-start-race');
  const [gateway, tool] = await Promise.all([asGateway(dataDir), asTool(dataDir)]);
  try {
    const [{ applied }] = await tool.dataSource.query('SELECT count(*)::int AS applied FROM typeorm_migrations');
    expect(applied).toBeGreaterThan(0);
    expect(await gateway.dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  } finally {
    await tool.close();
    // The command left; the gateway's server runs on.
    expect(await gateway.dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await gateway.close();
  }
  expect(await serverPid(dataDir)).toBeNull();
});

it('lets admin commands without a gateway share the server: the last one out stops it', async () => {
  const dataDir = path.join(workspace, 'commands-together');
  const first = await asTool(dataDir);
  const second = await asTool(dataDir);
  const third = await asTool(dataDir);
  const server = await serverPid(dataDir);
  expect(server).toEqual(expect.any(Number));

  await first.close();
  expect(await serverPid(dataDir)).toBe(server);
  expect(await third.dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  await third.close();
  expect(await second.dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  await second.close();
  expect(await serverPid(dataDir)).toBeNull();
});

it('restarts an adopted server that allows fewer connections than the new pool needs', async () => {
  const dataDir = path.join(workspace, 'bigger-pool');
  // An admin command leaves the server running when it dies; here it simply is not released.
  const orphan = await asTool(dataDir);
  const server = await serverPid(dataDir);
  await orphan.dataSource.destroy();

  const gateway = await asGateway(dataDir, { DATABASE_POOL_SIZE: '60' });
  try {
    expect(await serverPid(dataDir)).not.toBe(server);
    const [{ max }] = await gateway.dataSource.query("SELECT current_setting('max_connections')::int AS max");
    expect(max).toBeGreaterThanOrEqual(60);
  } finally {
    await gateway.close();
  }
});

it('starts over an empty or cut postmaster.pid (a power loss, a full disk)', async () => {
  const dataDir = path.join(workspace, 'empty-postmaster-pid');
  await (await asGateway(dataDir)).close();
  for (const content of ['', 'garbage\n', '12']) {
    await writeFile(path.join(dataDir, 'postgres', 'postmaster.pid'), content);
    const database = await asGateway(dataDir);
    await database.close();
  }
});

it('refuses a folder whose password file no longer matches its cluster, by name', async () => {
  const dataDir = path.join(workspace, 'wrong-password');
  await (await asGateway(dataDir)).close();
  await writeFile(path.join(dataDir, 'postgres.password'), 'not-the-password\n');
  await expect(asGateway(dataDir)).rejects.toThrow(
    `DATA_DIR ${dataDir} is damaged: postgres.password does not match its cluster`,
  );
  expect(await serverPid(dataDir)).toBeNull();
});

it('leaves a refused folder exactly as it was', async () => {
  const foreign = path.join(workspace, 'foreign');
  await mkdir(foreign);
  await writeFile(path.join(foreign, 'portcullis.pid'), 'my own pid file\n');
  await writeFile(path.join(foreign, 'data.txt'), 'keep\n');
  await expect(asGateway(foreign)).rejects.toThrow('is not a Portcullis data folder');
  expect(await readFile(path.join(foreign, 'portcullis.pid'), 'utf8')).toBe('my own pid file\n');

  const file = path.join(workspace, 'a-file');
  await writeFile(file, 'not a folder\n');
  await expect(asGateway(file)).rejects.toThrow(`DATA_DIR ${file} is not a folder`);

  const missing = path.join(workspace, 'never-created');
  const verify = await runScript(
    'src/cli.ts',
    ['audit', 'verify', '--account'],
    gatewayEnv({ DATA_DIR: missing, LOG_LEVEL: 'silent' }),
    60_000,
  );
  expect(verify.code).toBe(2);
  expect(verify.stderr).toContain('holds no database yet');
  await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
});

it('stops its embedded server when SIGTERM comes during start-up', async () => {
  const dataDir = path.join(workspace, 'sigterm-while-starting');
  const port = await freePort();
  const env = gatewayEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', BCRYPT_COST: '4' });
  const gateway = spawnScript('src/cli.ts', ['serve'], env);
  try {
    // As soon as the server runs, well before the gateway listens (migrations, first owner).
    const deadline = Date.now() + 60_000;
    while ((await serverPid(dataDir)) === null) {
      if (Date.now() > deadline || !gateway.isRunning()) throw new Error(`no server:\n${gateway.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    gateway.child.kill('SIGTERM');
    const exit = await withTimeout(gateway.exited, 60_000, () => 'the gateway did not exit');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(gateway.stdout()).toContain('stopping once started');
    expect(await serverPid(dataDir)).toBeNull();

    // What it started is complete: the next start serves and does not print a new owner.
    const again = spawnScript('src/cli.ts', ['serve'], env);
    try {
      await waitForHealthy(again, `http://127.0.0.1:${port}`);
      const owners = gateway.stdout().match(/password:/g)?.length ?? 0;
      expect(owners + (again.stdout().match(/password:/g)?.length ?? 0)).toBe(1);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  } finally {
    await gateway.forceStop();
  }
});

it('answers a usage error for audit verify without --org or --account, and refuses an unknown org', async () => {
  const dataDir = path.join(workspace, 'verify-usage');
  await (await asGateway(dataDir)).close();
  const env = gatewayEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const bare = await runScript('src/cli.ts', ['audit', 'verify'], env, 60_000);
  expect(bare.code).toBe(2);
  expect(bare.stderr).toContain('usage: portcullis audit verify');
  const unknown = await runScript(
    'src/cli.ts',
    ['audit', 'verify', '--org', '00000000-0000-4000-8000-000000000000'],
    env,
    60_000,
  );
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('no org has the id 00000000-0000-4000-8000-000000000000');
});

it('connects to the embedded server without TLS whatever PGSSLMODE says', async () => {
  const dataDir = path.join(workspace, 'sslmode');
  // pg reads PGSSLMODE from the environment for any connection that does not say otherwise.
  process.env.PGSSLMODE = 'require';
  try {
    const database = await asGateway(dataDir);
    expect(await database.dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await database.close();
  } finally {
    delete process.env.PGSSLMODE;
  }
});

it('shuts down on SIGTERM to npx, which passes it to a shell that dies without passing it on', async () => {
  const dataDir = path.join(workspace, 'orphaned');
  const port = await freePort();
  const env = gatewayEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', BCRYPT_COST: '4' });
  // As `npx portcullis serve` runs it: npm exec, then a shell, then node.
  const npm = spawn('npm', ['exec', '--', 'node', '-r', 'ts-node/register/transpile-only', 'src/cli.ts', 'serve'], {
    cwd: REPO_ROOT,
    env,
    stdio: 'ignore',
  });
  try {
    const deadline = Date.now() + 90_000;
    while (
      !(await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (response) => response.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error('the gateway did not start');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const gatewayPid = Number((await readFile(path.join(dataDir, 'portcullis.pid'), 'utf8')).split(/\s/)[0]);
    npm.kill('SIGTERM');
    const stopped = Date.now() + 20_000;
    while (isProcessAlive(gatewayPid) && Date.now() < stopped) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isProcessAlive(gatewayPid)).toBe(false);
    expect(await serverPid(dataDir)).toBeNull();
  } finally {
    npm.kill('SIGKILL');
  }
});
