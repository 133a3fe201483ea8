import { execFile } from 'node:child_process';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './spawn-gateway';

const run = promisify(execFile);

/** Debian's pgbouncer package (1.18: no protocol-level prepared statements in transaction mode). */
export const PGBOUNCER_BIN = process.env.TEST_PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

export type Pgbouncer = {
  port: number;
  /** postgres://postgres@127.0.0.1:port/<database>: the pooled way to the server. */
  url(database?: string): string;
  /** A command on the admin console (SHOW POOLS, SHOW STATS, …), which speaks only the simple protocol. */
  admin<Row = Record<string, unknown>>(command: string): Promise<Row[]>;
  log(): Promise<string>;
  /** Stops it and removes its files: for afterAll. */
  destroy(): Promise<void>;
};

export type PgbouncerOptions = {
  /** The PostgreSQL server it pools (loopback, trust authentication). */
  serverPort: number;
  poolMode?: 'session' | 'transaction' | 'statement';
  /** Server connections per database and user: below the clients' pools, so they must share. */
  defaultPoolSize?: number;
};

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

/**
 * A pgbouncer of the test's own on a free loopback port, in front of one PostgreSQL server, with
 * trust authentication through an auth_file. pgbouncer refuses to run as root: as root it runs as
 * the `postgres` OS user, its folder handed over to that user.
 */
export async function startPgbouncer(options: PgbouncerOptions): Promise<Pgbouncer> {
  const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-pgbouncer-'));
  const asRoot = process.getuid?.() === 0;
  const port = await freePort();
  const file = (name: string) => path.join(folder, name);
  await writeFile(file('userlist.txt'), '"postgres" ""\n');
  await writeFile(
    file('pgbouncer.ini'),
    [
      '[databases]',
      `* = host=127.0.0.1 port=${options.serverPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${file('userlist.txt')}`,
      'admin_users = postgres',
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      'max_client_conn = 200',
      `default_pool_size = ${options.defaultPoolSize ?? 3}`,
      // node-postgres sends no startup parameter pgbouncer would refuse; psql's are allowed anyway.
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${file('pgbouncer.log')}`,
      `pidfile = ${file('pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  if (asRoot) {
    const { uid, gid } = await postgresIds();
    for (const name of ['', 'userlist.txt', 'pgbouncer.ini']) await chown(file(name), uid, gid);
  }
  const [command, argv] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', PGBOUNCER_BIN, '-d', file('pgbouncer.ini')]]
    : [PGBOUNCER_BIN, ['-d', file('pgbouncer.ini')]];
  const log = () => readFile(file('pgbouncer.log'), 'utf8').catch(() => '');
  try {
    await run(command, argv, { timeout: 30_000 });
    await waitForPort(port, log);
  } catch (error) {
    await stop(file('pgbouncer.pid'));
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async admin<Row>(command: string) {
      const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/pgbouncer` });
      await client.connect();
      try {
        return (await client.query(command)).rows as Row[];
      } finally {
        await client.end();
      }
    },
    log,
    async destroy() {
      await stop(file('pgbouncer.pid'));
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** SIGTERM is pgbouncer's immediate shutdown; waits until the process is gone. */
async function stop(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let waited = 0; waited < 5_000; waited += 50) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.kill(pid, 'SIGKILL');
}

async function waitForPort(port: number, log: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/pgbouncer` });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`pgbouncer did not start: ${String(error)}\n${await log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
