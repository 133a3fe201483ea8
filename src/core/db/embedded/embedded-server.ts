import { postgresBinaries } from './binaries';
import {
  assertReachableByServer,
  dataDirLayout,
  DataDirError,
  initialiseDataDir,
  inspectDataDir,
  readPassword,
} from './data-dir';
import { liveGateway, lockForGateway } from './gateway-lock';
import type { Logger } from '../../logger';
import {
  EMBEDDED_HOST,
  isThisClustersServer,
  readPostmasterRecord,
  runningServer,
  startServer,
  stopServer,
} from './postmaster';
import { serverUser } from './server-user';

export type EmbeddedServer = {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Lets go of the server: stops it when this process owns it, and drops the gateway lock. */
  release(): Promise<void>;
};

export type EmbeddedRole =
  /** `portcullis serve`: the one gateway of DATA_DIR; owns the server and stops it on shutdown. */
  | { kind: 'gateway' }
  /**
   * The admin commands: attach to the server a gateway runs, or start it for their own work and
   * stop it again, unless a gateway has adopted it meanwhile. `create` lets a command initialise
   * a new DATA_DIR (migrate, bootstrap); reading commands refuse an empty one.
   */
  | { kind: 'tool'; create: boolean };

export type EmbeddedOptions = {
  role: EmbeddedRole;
  maxConnections: number;
  secretKeySet: boolean;
  logger: Logger;
};

/** How often a gateway checks that its server still runs. */
const WATCH_INTERVAL_MS = 2_000;

/**
 * The PostgreSQL server of DATA_DIR, running (started, or adopted when a previous gateway died
 * and left it running) and checked to serve this very folder.
 */
export async function openEmbeddedServer(dataDir: string, options: EmbeddedOptions): Promise<EmbeddedServer> {
  const layout = dataDirLayout(dataDir);
  const binaries = postgresBinaries();
  const user = await serverUser();
  const unlock = options.role.kind === 'gateway' ? await lockForGateway(layout) : null;
  try {
    await assertReachableByServer(layout, user);
    const state = await inspectDataDir(layout, binaries, options.secretKeySet);
    if (state === 'fresh') {
      if (options.role.kind === 'tool' && !options.role.create) {
        throw new DataDirError(layout, 'holds no database yet: start the gateway first.');
      }
      await initialiseDataDir(layout, binaries, user, options.secretKeySet);
    }
    const password = await readPassword(layout);
    const running = await runningServer(layout, password);
    const server = running ?? (await startServer(layout, binaries, user, options.maxConnections));
    const startedHere = running === null;
    const ownsServer = options.role.kind === 'gateway' || startedHere;
    const watchdog = options.role.kind === 'gateway' ? restartWhenGone(server.port) : null;
    return {
      host: EMBEDDED_HOST,
      port: server.port,
      user: 'postgres',
      password,
      database: 'postgres',
      async release() {
        if (watchdog) clearInterval(watchdog);
        try {
          if (ownsServer && (options.role.kind === 'gateway' || (await liveGateway(layout)) === null)) {
            await stopServer(layout, binaries, user);
          }
        } finally {
          await unlock?.();
        }
      },
    };
  } catch (error) {
    await unlock?.();
    throw error;
  }

  /**
   * A server that died under the gateway (killed, out of memory) is started again on the same
   * port, where the connection pool finds it: requests meanwhile answer SERVICE_UNAVAILABLE.
   */
  function restartWhenGone(port: number): NodeJS.Timeout {
    let restarting = false;
    const timer = setInterval(() => {
      if (restarting) return;
      restarting = true;
      void (async () => {
        const record = await readPostmasterRecord(layout);
        if (record && (await isThisClustersServer(layout, record.pid))) return;
        options.logger.warn({ dataDir: layout.root }, 'the embedded PostgreSQL server is gone; starting it again');
        await startServer(layout, binaries, user, options.maxConnections, port);
        options.logger.info({ port }, 'the embedded PostgreSQL server runs again');
      })()
        .catch((error: unknown) =>
          options.logger.error({ err: error }, 'could not restart the embedded PostgreSQL server'),
        )
        .finally(() => (restarting = false));
    }, WATCH_INTERVAL_MS);
    timer.unref();
    return timer;
  }
}
