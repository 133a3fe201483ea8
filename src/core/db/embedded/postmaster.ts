import { readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import type { PostgresBinaries } from './binaries';
import { DAMAGED, DataDirError, type DataDirLayout } from './data-dir';
import { runAs, type ServerUser } from './server-user';
import { isProcessAlive, processCommand } from '../../process/processes';

export const EMBEDDED_HOST = '127.0.0.1';

/** What the server's own postmaster.pid says: its pid, its port, and whether it is ready. */
export type PostmasterRecord = { pid: number; port: number; status: string };

/** PostgreSQL records its pid and port in DATA_DIR/postgres/postmaster.pid while it runs. */
export async function readPostmasterRecord(layout: DataDirLayout): Promise<PostmasterRecord | null> {
  const text = await readFile(path.join(layout.cluster, 'postmaster.pid'), 'utf8').catch(() => null);
  if (!text) return null;
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return null;
  return { pid, port, status: (lines[7] ?? '').trim() };
}

/**
 * A connection to the embedded server: loopback TCP without TLS, whatever PGSSLMODE the shell
 * has (pg reads it for any connection that does not say), and a bounded wait.
 */
export function embeddedClient(port: number, password: string): Client {
  const client = new Client({
    host: EMBEDDED_HOST,
    port,
    user: 'postgres',
    password,
    database: 'postgres',
    ssl: false,
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => undefined);
  return client;
}

/**
 * Whether a PostgreSQL server answers on `port` with this folder's password and serves this very
 * cluster: the check that makes adopting a running server safe.
 */
export async function servesCluster(layout: DataDirLayout, port: number, password: string): Promise<boolean> {
  const client = embeddedClient(port, password);
  try {
    await client.connect();
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    return path.resolve(rows[0].data_directory) === layout.cluster;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether `pid` is alive and is this cluster's postmaster: started with this cluster's folder on
 * its command line (pg_ctl passes it), where /proc can tell.
 */
export async function isThisClustersServer(layout: DataDirLayout, pid: number): Promise<boolean> {
  if (!isProcessAlive(pid)) return false;
  const command = await processCommand(pid);
  return command === null || command.includes(layout.cluster);
}

/**
 * The running server of this cluster, if any: waits while one is starting up, and returns null
 * when postmaster.pid is absent or names a process that is not a PostgreSQL server.
 */
export async function runningServer(
  layout: DataDirLayout,
  password: string,
  waitMs = 30_000,
): Promise<PostmasterRecord | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const record = await readPostmasterRecord(layout);
    if (!record || !(await isThisClustersServer(layout, record.pid))) return null;
    if (record.status === 'ready' && (await servesCluster(layout, record.port, password))) return record;
    if (Date.now() > deadline) {
      throw new DataDirError(
        layout,
        `has a PostgreSQL server (pid ${record.pid}) that does not answer: stop it, or see ${path.relative(layout.root, layout.serverLog)}.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, EMBEDDED_HOST, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The server log's lines written since `from` (a byte offset): this start's, not earlier ones. */
async function logSince(layout: DataDirLayout, from: number): Promise<string> {
  const log = await readFile(layout.serverLog).catch(() => Buffer.alloc(0));
  return log.subarray(from).toString('utf8').trim().split('\n').slice(-12).join('\n');
}

/**
 * Starts the cluster's server on a free loopback port with pg_ctl, which detaches it: a gateway
 * killed with SIGKILL leaves it running, and the next start adopts it. Only loopback TCP with
 * the folder's password reaches it; no Unix socket is created.
 */
export async function startServer(
  layout: DataDirLayout,
  binaries: PostgresBinaries,
  user: ServerUser,
  maxConnections: number,
  /** The port to use, when clients already know it (a server that died is started again there). */
  fixedPort?: number,
): Promise<PostmasterRecord> {
  // A postmaster.pid left by a server that died with its machine (or container) may name a pid
  // now used by something else, which PostgreSQL would take for a running server; a power loss
  // or a full disk may leave it empty or cut, which pg_ctl refuses.
  const stale = await readPostmasterRecord(layout);
  if (!stale || !(await isThisClustersServer(layout, stale.pid))) {
    await rm(path.join(layout.cluster, 'postmaster.pid'), { force: true });
  }
  const logStart = (await stat(layout.serverLog).catch(() => null))?.size ?? 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = fixedPort ?? (await freePort());
    const settings = [
      `-p ${port}`,
      `-c listen_addresses=${EMBEDDED_HOST}`,
      "-c unix_socket_directories=''",
      `-c max_connections=${maxConnections}`,
      // Small enough for a laptop or a small container; the gateway's working set is small.
      '-c shared_buffers=32MB',
    ].join(' ');
    try {
      await runAs(user, binaries.pgCtl, [
        'start',
        '--pgdata',
        layout.cluster,
        '--log',
        layout.serverLog,
        '--wait',
        '--timeout=60',
        '--options',
        settings,
      ]);
      const record = await readPostmasterRecord(layout);
      if (record) return record;
      lastError = new Error('the server started but wrote no postmaster.pid');
    } catch (error) {
      lastError = error;
      // Another process may have started this cluster's server at the same moment: adopt it then.
      const record = await readPostmasterRecord(layout);
      if (record && isProcessAlive(record.pid)) return record;
    }
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new DataDirError(
    layout,
    `could not start its PostgreSQL server (${reason.split('\n')[0]}). The server's log says:\n${await logSince(layout, logStart)}`,
  );
}

/**
 * Fast shutdown: open transactions roll back, clients are disconnected, data is flushed. A server
 * that is already gone (killed, or stopped by someone else) needs nothing.
 */
export async function stopServer(layout: DataDirLayout, binaries: PostgresBinaries, user: ServerUser): Promise<void> {
  const record = await readPostmasterRecord(layout);
  if (!record || !(await isThisClustersServer(layout, record.pid))) return;
  await runAs(user, binaries.pgCtl, ['stop', '--pgdata', layout.cluster, '--mode=fast', '--wait', '--timeout=60']);
}

/**
 * Connects as the gateway will, so that a folder whose password no longer matches its cluster,
 * or whose cluster lost its database, is refused by name rather than by the driver's words.
 */
export async function assertAnswers(
  layout: DataDirLayout,
  port: number,
  password: string,
): Promise<{ maxConnections: number }> {
  const client = embeddedClient(port, password);
  try {
    await client.connect();
    const { rows } = await client.query<{ max: number }>("SELECT current_setting('max_connections')::int AS max");
    return { maxConnections: rows[0].max };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '28P01') {
      throw new DataDirError(
        layout,
        `is damaged: ${path.basename(layout.passwordFile)} does not match its cluster. ${DAMAGED}`,
      );
    }
    if (code === '3D000')
      throw new DataDirError(layout, `is damaged: its cluster has lost the postgres database. ${DAMAGED}`);
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}
