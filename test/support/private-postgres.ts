import { execFile } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './spawn-gateway';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 server binaries, the same major version as the shared test server. */
export const POSTGRES_BIN_DIR = process.env.TEST_POSTGRES_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

export type ShutdownMode = 'smart' | 'fast' | 'immediate';

export type PrivatePostgres = {
  port: number;
  /** postgres://postgres@127.0.0.1:port/postgres, trust authentication. */
  url: string;
  start(): Promise<void>;
  stop(mode: ShutdownMode): Promise<void>;
  /** SIGSTOP to the server and its backends: a database that accepts connections but never answers. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** The server's log so far: for a failing test's message. */
  log(): Promise<string>;
  /** Stops the server if it runs and removes its files: for afterAll. */
  destroy(): Promise<void>;
};

/** PostgreSQL refuses to run as root: as root, the binaries run as the `postgres` OS user. */
async function asServerUser(binary: string, args: string[]): Promise<void> {
  const program = path.join(POSTGRES_BIN_DIR, binary);
  const [file, argv] =
    process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
  await run(file, argv, { timeout: 60_000 });
}

/** The postmaster first (so it forks nothing new), then its children: backends and helpers. */
async function serverProcesses(dataDir: string): Promise<number[]> {
  const postmaster = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const children = await run('pgrep', ['-P', String(postmaster)]).then(
    ({ stdout }) => stdout.split('\n').filter(Boolean).map(Number),
    () => [],
  );
  return [postmaster, ...children];
}

async function handOverToServerUser(folder: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  await chown(folder, await id('-u'), await id('-g'));
}

/**
 * A PostgreSQL cluster of the test's own, in a temporary folder on a free loopback port, that the
 * test may stop and start at will: the shared server on 5432 serves other test files meanwhile.
 * Its socket lives in the same folder, never in the system's socket directory.
 *
 * With `standbyOf`, a streaming replica of that (running) cluster instead of a new one: a base
 * backup whose `-R` writes standby.signal and the connection to the primary. initdb's pg_hba.conf
 * already trusts replication connections from loopback, and wal_level is `replica` by default.
 */
export async function createPrivatePostgres(options: { standbyOf?: PrivatePostgres } = {}): Promise<PrivatePostgres> {
  const folder = await mkdtemp(path.join(tmpdir(), 'portcullis-pg-'));
  await handOverToServerUser(folder);
  const dataDir = path.join(folder, 'data');
  const logFile = path.join(folder, 'server.log');
  const port = await freePort();
  if (options.standbyOf) {
    const primaryPort = String(options.standbyOf.port);
    await asServerUser('pg_basebackup', [
      '-D',
      dataDir,
      '-R',
      '-h',
      '127.0.0.1',
      '-p',
      primaryPort,
      '-U',
      'postgres',
      '-c',
      'fast',
      '--no-sync',
    ]);
  } else {
    await asServerUser('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  }
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -k ${folder} -c fsync=off -c max_connections=40`;
  let running = false;
  let frozen = false;
  const signalServer = async (signal: NodeJS.Signals) => {
    for (const pid of await serverProcesses(dataDir)) process.kill(pid, signal);
  };

  const cluster: PrivatePostgres = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await asServerUser('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-o', serverOptions]);
      running = true;
    },
    async stop(mode) {
      await asServerUser('pg_ctl', ['stop', '-D', dataDir, '-m', mode, '-w']);
      running = false;
    },
    async freeze() {
      await signalServer('SIGSTOP');
      frozen = true;
    },
    async thaw() {
      await signalServer('SIGCONT');
      frozen = false;
    },
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    async destroy() {
      if (frozen) await cluster.thaw().catch(() => undefined);
      if (running) await cluster.stop('immediate').catch(() => undefined);
      await rm(folder, { recursive: true, force: true });
    },
  };
  try {
    await cluster.start();
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
  return cluster;
}
