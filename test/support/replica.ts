import { Client } from 'pg';
import { createPrivatePostgres, type PrivatePostgres } from './private-postgres';

export type StreamingPair = {
  primary: PrivatePostgres;
  replica: PrivatePostgres;
  /** postgres:// URLs of the gateway's database on each. */
  primaryUrl: string;
  replicaUrl: string;
  /** Runs SQL on the replica's copy of the database (hot standby: reads only). */
  replicaSql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  /** Stops applying the primary's changes (they still arrive): the replica falls behind. */
  pauseReplay(): Promise<void>;
  /** Applies what arrived meanwhile and waits until the replica has replayed all the primary wrote. */
  resumeReplay(): Promise<void>;
  destroy(): Promise<void>;
};

const DATABASE = 'portcullis';

function databaseUrl(cluster: PrivatePostgres): string {
  return `postgres://postgres@127.0.0.1:${cluster.port}/${DATABASE}`;
}

async function query<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL primary and a streaming replica of it on loopback, each a private cluster of this
 * test (run as the `postgres` OS user), with an empty database for a gateway on the primary.
 */
export async function createStreamingPair(): Promise<StreamingPair> {
  const primary = await createPrivatePostgres();
  let replica: PrivatePostgres | null = null;
  try {
    await query(primary.url, `CREATE DATABASE ${DATABASE}`);
    replica = await createPrivatePostgres({ standbyOf: primary });
  } catch (error) {
    await primary.destroy();
    throw error;
  }
  const standby = replica;
  const primaryUrl = databaseUrl(primary);
  const replicaUrl = databaseUrl(standby);
  const replicaSql: StreamingPair['replicaSql'] = (text, params) => query(replicaUrl, text, params);
  return {
    primary,
    replica: standby,
    primaryUrl,
    replicaUrl,
    replicaSql,
    async pauseReplay() {
      await replicaSql('SELECT pg_wal_replay_pause()');
      // Pausing takes effect between records: wait until it has.
      await until(async () => (await replicaSql('SELECT pg_get_wal_replay_pause_state() AS s'))[0].s === 'paused');
    },
    async resumeReplay() {
      await replicaSql('SELECT pg_wal_replay_resume()');
      const [{ lsn }] = await query<{ lsn: string }>(primaryUrl, 'SELECT pg_current_wal_lsn()::text AS lsn');
      await until(
        async () => (await replicaSql('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn]))[0].done === true,
      );
    },
    async destroy() {
      await standby.destroy();
      await primary.destroy();
    },
  };
}

/** Polls `condition` every 50 ms for up to 10 s. */
export async function until(condition: () => Promise<boolean>, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
