import { chmod, mkdir } from 'node:fs/promises';
import type { Client } from 'pg';
import type { Logger } from '../../logger';
import { postgresBinaries } from './binaries';
import { reachableBinaries } from './reachable-binaries';
import {
  assertReachableByServer,
  dataDirLayout,
  DataDirError,
  initialiseDataDir,
  inspectDataDir,
  readPassword,
} from './data-dir';
import { liveGateway, lockForGateway, withStartLock } from './gateway-lock';
import {
  assertAnswers,
  EMBEDDED_HOST,
  embeddedClient,
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
  /** Lets go of the server: stops it when nobody else needs it, and drops the gateway lock. */
  release(): Promise<void>;
};

export type EmbeddedRole =
  /** `portcullis serve`: the one gateway of DATA_DIR; owns the server and stops it on shutdown. */
  | { kind: 'gateway' }
  /**
   * The admin commands: attach to the running server, or start it; the last one out stops it
   * unless a gateway holds the folder. `create` lets a command initialise a new DATA_DIR
   * (migrate, bootstrap); reading commands refuse an empty one.
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
  const installed = postgresBinaries();
  const user = await serverUser();
  const gateway = options.role.kind === 'gateway';
  // Every refusal comes before anything is written, so a foreign folder is left as it was.
  await assertReachableByServer(layout, user);
  if ((await inspectDataDir(layout, installed, options.secretKeySet)) === 'fresh') refuseToCreate();
  await mkdir(layout.root, { recursive: true, mode: 0o700 });
  // The server's OS user must reach its copy of the binaries in the folder, without listing it.
  if (user.uid !== undefined) await chmod(layout.root, 0o711);
  const binaries = await reachableBinaries(installed, layout, user);
  const unlockGateway = gateway ? await lockForGateway(layout) : null;
  try {
    const { port, password, presence } = await withStartLock(layout, bringUp);
    const watchdog = gateway ? restartWhenGone(port, password) : null;
    return {
      host: EMBEDDED_HOST,
      port,
      user: 'postgres',
      password,
      database: 'postgres',
      async release() {
        if (watchdog) clearInterval(watchdog);
        try {
          await withStartLock(layout, async () => {
            if (gateway || ((await othersConnected(presence)) === 0 && (await liveGateway(layout)) === null)) {
              await stopServer(layout, binaries, user);
            }
          });
        } finally {
          await presence?.end().catch(() => undefined);
          await unlockGateway?.();
        }
      },
    };
  } catch (error) {
    await unlockGateway?.();
    throw error;
  }

  function refuseToCreate() {
    if (options.role.kind === 'tool' && !options.role.create) {
      throw new DataDirError(layout, 'holds no database yet: start the gateway first.');
    }
  }

  /** Under the start lock: the folder initialised if new, its server running and answering. */
  async function bringUp() {
    if ((await inspectDataDir(layout, binaries, options.secretKeySet)) === 'fresh') {
      refuseToCreate();
      await initialiseDataDir(layout, binaries, user, options.secretKeySet);
    }
    const password = await readPassword(layout);
    const adopted = await runningServer(layout, password);
    // A server adopted from an earlier gateway keeps that gateway's settings: too few connections
    // for this one's pool would refuse its requests, so it is started again.
    const keeps =
      adopted !== null &&
      (!gateway || (await assertAnswers(layout, adopted.port, password)).maxConnections >= options.maxConnections);
    if (adopted && !keeps) await stopServer(layout, binaries, user);
    const server = keeps ? adopted : await startServer(layout, binaries, user, options.maxConnections);
    if (!keeps) {
      await assertAnswers(layout, server.port, password).catch(async (refusal: unknown) => {
        await stopServer(layout, binaries, user);
        throw refusal;
      });
    }
    // An admin command's own connection, held until it lets go: the last one out sees no other.
    const presence = gateway ? null : await connect(server.port, password);
    return { port: server.port, password, presence };
  }

  /**
   * A server that died under the gateway (killed, out of memory) is started again on the same
   * port, where the connection pool finds it: requests meanwhile answer SERVICE_UNAVAILABLE.
   */
  function restartWhenGone(port: number, password: string): NodeJS.Timeout {
    let checking = false;
    const timer = setInterval(() => {
      if (checking) return;
      checking = true;
      withStartLock(layout, async () => {
        const record = await readPostmasterRecord(layout);
        const alive = record !== null && (await isThisClustersServer(layout, record.pid));
        if (alive && record.port === port) return;
        options.logger.warn({ dataDir: layout.root }, 'the embedded PostgreSQL server is gone; starting it again');
        // An admin command may have started it meanwhile, elsewhere than the pool looks.
        if (alive) await stopServer(layout, binaries, user);
        await startServer(layout, binaries, user, options.maxConnections, port);
        await assertAnswers(layout, port, password);
        options.logger.info({ port }, 'the embedded PostgreSQL server runs again');
      })
        .catch((error: unknown) =>
          options.logger.error({ err: error }, 'could not restart the embedded PostgreSQL server'),
        )
        .finally(() => (checking = false));
    }, WATCH_INTERVAL_MS);
    timer.unref();
    return timer;
  }
}

async function connect(port: number, password: string): Promise<Client> {
  const client = embeddedClient(port, password);
  await client.connect();
  return client;
}

/** How long a departing command waits for sessions that are only closing to be gone. */
const CLOSING_SESSIONS_WAIT_MS = 1_000;

/**
 * Client sessions on the server other than `presence` (other admin commands, a gateway's pool).
 * A pool that just closed, this command's own included, leaves its backends exiting for a moment
 * after its sockets closed: counted, they kept the last command out from stopping the server. So
 * a count above zero is asked again until it reaches zero or the wait is over.
 */
async function othersConnected(presence: Client | null): Promise<number> {
  if (!presence) return 0;
  const deadline = Date.now() + CLOSING_SESSIONS_WAIT_MS;
  for (;;) {
    // Unknown counts as someone: a server is better left running than stopped under a user.
    const answer = await presence
      .query<{ others: number }>(
        `SELECT count(*)::int AS others FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      )
      .catch(() => ({ rows: [{ others: 1 }] }));
    const others = answer.rows[0].others;
    if (others === 0 || Date.now() >= deadline) return others;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
