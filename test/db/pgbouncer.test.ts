import { Client, Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { migrations } from '../../src/core/db/migrations';
import { markBehindTransactionPooler } from '../../src/core/db/pg-pool';
import { readKeyStatus } from '../../src/modules/api-keys/api-key-status';
import { addMember, createUser, MEMBER_PASSWORD, uniqueEmail } from '../support/fixtures';
import { errorCode, graphqlRequest } from '../support/graphql-client';
import { startPgbouncer, type Pgbouncer } from '../support/pgbouncer';
import { createPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';
import { freePort, gatewayEnv, spawnScript, waitForHealthy, type SpawnedScript } from '../support/spawn-gateway';
import { OWNER_EMAIL, OWNER_PASSWORD, TEST_SECRET_KEY, type TestGateway } from '../support/test-gateway';

/**
 * Two gateway processes whose DATABASE_URL is a real pgbouncer in transaction mode, with fewer
 * server connections (3) than their pools hold together (2 × 5, plus each one's audit chainer), so
 * consecutive transactions of one client land on different server connections; DATABASE_DIRECT_URL
 * reaches the same PostgreSQL directly.
 */
const SERVER_CONNECTIONS = 3;
const LISTENER_APPLICATION_NAME = 'portcullis-invalidation';

let postgres: PrivatePostgres;
let bouncer: Pgbouncer;
/** Assertions and setup, straight to PostgreSQL. */
let direct: Client;
const gateways: Array<{ spawned: SpawnedScript; url: string }> = [];
let ownerToken: string;
let orgId: string;
let robotId: string;

async function spawnGateway(env: Record<string, string>): Promise<{ spawned: SpawnedScript; url: string }> {
  const port = await freePort();
  const spawned = spawnScript(
    'src/main.ts',
    [],
    gatewayEnv({
      DATABASE_URL: bouncer.url(),
      SECRET_KEY: TEST_SECRET_KEY,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: 'http://portcullis.test',
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '5',
      BCRYPT_COST: '4',
      BOOTSTRAP_EMAIL: OWNER_EMAIL,
      BOOTSTRAP_PASSWORD: OWNER_PASSWORD,
      BOOTSTRAP_ORG: 'Acme',
      LOCKOUT_THRESHOLD: '3',
      ...env,
    }),
  );
  return { spawned, url: `http://127.0.0.1:${port}` };
}

async function graphql(gateway: number, query: string, variables: Record<string, unknown> = {}, token?: string) {
  return graphqlRequest(gateways[gateway].url, query, variables, { token });
}

async function ok(gateway: number, query: string, variables: Record<string, unknown>, token?: string) {
  const response = await graphql(gateway, query, variables, token);
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

async function login(gateway: number, email: string, password: string) {
  return graphql(
    gateway,
    'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    { email, password },
  );
}

async function authCheck(url: string, token: string): Promise<number> {
  const response = await fetch(`${url}/auth/check`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

/** The fixtures' setup SQL, run straight on PostgreSQL. */
const setup = {
  sql: async (text: string, params?: unknown[]) => (await direct.query(text, params)).rows,
} as TestGateway;

/** A viewer of the org (by default the one the tests create), signed in through gateway 1. */
async function member(name: string, org = orgId): Promise<{ id: string; email: string; token: string }> {
  const email = uniqueEmail(name);
  const id = await createUser(setup, email, { firstName: name });
  await addMember(setup, org, id, 'viewer');
  const signedIn = await login(0, email, MEMBER_PASSWORD);
  if (!signedIn.data?.login) throw new Error(JSON.stringify(signedIn.errors));
  return { id, email, token: signedIn.data.login.accessToken };
}

/** A change nobody announces: the triggers that NOTIFY are off for it (session_replication_role). */
async function silently(sql: string): Promise<void> {
  await direct.query(`BEGIN; SET LOCAL session_replication_role = replica; ${sql}; COMMIT`);
}

async function refusedWithin(ms: number, refused: () => Promise<boolean>): Promise<boolean> {
  const started = Date.now();
  while (Date.now() - started < ms) if (await refused()) return true;
  return false;
}

beforeAll(async () => {
  postgres = await createPrivatePostgres();
  bouncer = await startPgbouncer({ serverPort: postgres.port, defaultPoolSize: SERVER_CONNECTIONS });
  direct = new Client({ connectionString: postgres.url });
  await direct.connect();
  // Both start at once on an empty database: one migrates, the other waits for the migration lock.
  gateways.push(
    await spawnGateway({ DATABASE_DIRECT_URL: postgres.url }),
    await spawnGateway({ DATABASE_DIRECT_URL: postgres.url }),
  );
  await Promise.all(gateways.map(({ spawned, url }) => waitForHealthy(spawned, url)));
}, 120_000);

afterAll(async () => {
  await Promise.all(gateways.map(({ spawned }) => spawned.forceStop()));
  await direct?.end();
  await bouncer?.destroy();
  await postgres?.destroy();
});

describe('two gateways behind pgbouncer in transaction mode', () => {
  it('migrated once, under the lock taken on the direct connection', async () => {
    const { rows } = await direct.query<{ name: string; runs: number }>(
      'SELECT name, count(*)::int AS runs FROM typeorm_migrations GROUP BY name',
    );
    expect(rows).toHaveLength(migrations.length);
    expect(rows.every(({ runs }) => runs === 1)).toBe(true);
  });

  it('signs in, and audits mutations made through either gateway in a chain that verifies', async () => {
    const signedIn = await login(0, OWNER_EMAIL, OWNER_PASSWORD);
    expect(signedIn.errors).toBeUndefined();
    ownerToken = signedIn.data.login.accessToken;
    orgId = (await ok(1, 'mutation { createOrg(input: { name: "Pooled Org" }) { id } }', {}, ownerToken)).createOrg.id;
    const [{ id: adminRole }] = (
      await direct.query(`SELECT id FROM roles WHERE org_id = $1 AND key = 'admin'`, [orgId])
    ).rows;
    robotId = (
      await ok(
        0,
        'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
        { input: { orgId, name: 'Pooled Bot', roleId: adminRole } },
        ownerToken,
      )
    ).createServiceAccount.id;
    for (const gateway of [0, 1]) {
      await ok(
        gateway,
        'mutation ($input: CreateTeamInput!) { createTeam(input: $input) { id } }',
        { input: { orgId, name: `Team ${gateway}` } },
        ownerToken,
      );
    }
    const verified = await ok(
      1,
      'query ($orgId: ID!) { verifyAuditChain(orgId: $orgId) { valid checked } }',
      { orgId },
      ownerToken,
    );
    expect(verified.verifyAuditChain.valid).toBe(true);
    expect(verified.verifyAuditChain.checked).toBeGreaterThanOrEqual(4);
  });

  it('authenticates API keys (their status statement) many times over shared server connections', async () => {
    const created = await ok(
      0,
      'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
      { input: { ownerId: robotId, name: 'pooled', scopes: ['members:read'] } },
      ownerToken,
    );
    const token = created.createKey.token as string;
    const statuses: number[] = [];
    for (let round = 0; round < 8; round++) {
      const answers = await Promise.all(
        Array.from({ length: 12 }, async (_, index) => {
          const response = await graphql(
            index % 2,
            'query ($orgId: ID!) { users(orgId: $orgId) { totalCount } }',
            {
              orgId,
            },
            token,
          );
          return response.errors ? 500 : response.status;
        }),
      );
      statuses.push(...answers);
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });

  it('shares rate-limit counters between the gateways, refunds and blocks included', async () => {
    const user = await member('ratelimited');
    // A failure then a success: the success refunds and resets the failure counters (named statements).
    expect(errorCode(await login(1, user.email, 'wrong password'))).toBe('UNAUTHENTICATED');
    expect((await login(1, user.email, MEMBER_PASSWORD)).errors).toBeUndefined();
    for (const gateway of [0, 1, 0]) {
      expect(errorCode(await login(gateway, user.email, 'wrong password'))).toBe('UNAUTHENTICATED');
    }
    // The third failure spent LOCKOUT_THRESHOLD: the next attempt starts the block, on either gateway.
    expect(errorCode(await login(1, user.email, MEMBER_PASSWORD))).toBe('RATE_LIMITED');
    expect(errorCode(await login(0, user.email, MEMBER_PASSWORD))).toBe('RATE_LIMITED');
  });

  it('refuses on gateway 2, within a second, a key revoked and a user locked through gateway 1', async () => {
    const created = await ok(
      0,
      'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token apiKey { id } } }',
      { input: { ownerId: robotId, name: 'to revoke', scopes: ['members:read'] } },
      ownerToken,
    );
    const { token, apiKey } = created.createKey;
    const user = await member('tolock');
    const second = gateways[1].url;
    for (const credential of [token, user.token]) {
      expect(await authCheck(second, credential)).toBe(200);
      expect(await authCheck(second, credential)).toBe(200);
    }
    // Gateway 2 answers from its caches, open because its LISTEN (on the direct connection) hears
    // heartbeats: a change nobody announces goes unseen there.
    await silently(`UPDATE api_keys SET status = 'REVOKED' WHERE id = '${apiKey.id}'`);
    expect(await authCheck(second, token)).toBe(200);
    await silently(`UPDATE api_keys SET status = 'ACTIVE' WHERE id = '${apiKey.id}'`);

    await ok(0, 'mutation ($id: ID!) { revokeKey(id: $id) { id } }', { id: apiKey.id }, ownerToken);
    expect(await refusedWithin(1_000, async () => (await authCheck(second, token)) === 401)).toBe(true);
    await ok(0, 'mutation ($id: ID!) { lock(userId: $id) { id } }', { id: user.id }, ownerToken);
    expect(await refusedWithin(1_000, async () => (await authCheck(second, user.token)) === 401)).toBe(true);
  });

  it('sent its statements through pgbouncer, and only LISTEN straight to PostgreSQL', async () => {
    const pools = await bouncer.admin<{ database: string; pool_mode: string; cl_active: number }>('SHOW POOLS');
    const pool = pools.find(({ database }) => database === 'postgres');
    expect(pool?.pool_mode).toBe('transaction');
    // Each gateway's pool and audit chainer are clients of pgbouncer.
    expect(Number(pool?.cl_active)).toBeGreaterThan(SERVER_CONNECTIONS);
    const stats = await bouncer.admin<{ database: string; total_xact_count: string }>('SHOW STATS');
    expect(Number(stats.find(({ database }) => database === 'postgres')?.total_xact_count)).toBeGreaterThan(200);
    const { rows } = await direct.query<{ application_name: string; sessions: number }>(
      `SELECT application_name, count(*)::int AS sessions FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
        GROUP BY application_name ORDER BY application_name`,
    );
    const listeners = rows.find(({ application_name }) => application_name === LISTENER_APPLICATION_NAME);
    expect(listeners?.sessions).toBe(2);
    const others = rows.filter(({ application_name }) => application_name !== LISTENER_APPLICATION_NAME);
    expect(others.reduce((sum, { sessions }) => sum + sessions, 0)).toBeLessThanOrEqual(SERVER_CONNECTIONS);
  });
});

describe('without DATABASE_DIRECT_URL behind the same pgbouncer', () => {
  let lone: { spawned: SpawnedScript; url: string };

  afterAll(async () => {
    await lone?.spawned.forceStop();
  });

  it('warns once that LISTEN needs DATABASE_DIRECT_URL, and keeps its caches closed', async () => {
    lone = await spawnGateway({});
    await waitForHealthy(lone.spawned, lone.url);
    const output = () => lone.spawned.stdout() + lone.spawned.stderr();
    const deadline = Date.now() + 10_000;
    while (!output().includes('set DATABASE_DIRECT_URL') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output()).toContain('set DATABASE_DIRECT_URL');
    const [bootstrapped] = await setup.sql(
      'SELECT m.org_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1',
      [OWNER_EMAIL],
    );
    const user = await member('uncached', bootstrapped.org_id);
    expect(await authCheck(lone.url, user.token)).toBe(200);
    expect(await authCheck(lone.url, user.token)).toBe(200);
    // Its heartbeats may come back (the pooler hands it the server connection that ran LISTEN), but
    // a change nobody announces is seen at once: nothing was cached.
    await silently(`UPDATE users SET locked_at = now() WHERE id = '${user.id}'`);
    expect(await authCheck(lone.url, user.token)).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(output().split('set DATABASE_DIRECT_URL').length - 1).toBe(1);
  }, 60_000);
});

describe('a session lock', () => {
  it('taken through this pgbouncer outlives its client: why the migration lock goes direct', async () => {
    const locker = new Client({ connectionString: bouncer.url() });
    await locker.connect();
    await locker.query('SELECT pg_advisory_lock(42)');
    await locker.end();
    const { rows } = await direct.query<{ got: boolean }>('SELECT pg_try_advisory_lock(42) AS got');
    expect(rows).toEqual([{ got: false }]);
  });
});

describe('named statements', () => {
  it('fail through this pgbouncer: the failure the pooled mode avoids', async () => {
    const pool = new Pool({ connectionString: bouncer.url(), max: 5 });
    try {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 40 }, (_, index) =>
          pool.query({ name: 'probe', text: 'SELECT $1::int AS n, pg_sleep(0.005)', values: [index] }),
        ),
      );
      const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
      expect(failures.length).toBeGreaterThan(0);
      expect(
        failures.every((failure) => /prepared statement "probe" (does not exist|already exists)/.test(failure)),
      ).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it('are sent unnamed on a DataSource behind a transaction pooler, named otherwise', async () => {
    const sent = async (pooled: boolean) => {
      const query = jest.fn().mockResolvedValue({ rows: [] });
      const dataSource = {
        driver: { master: { query } },
        logger: { logQuery: () => undefined },
      } as unknown as DataSource;
      if (pooled) markBehindTransactionPooler(dataSource);
      await readKeyStatus(dataSource, '00000000-0000-4000-8000-000000000000');
      return query.mock.calls[0][0] as { name?: string };
    };
    expect((await sent(false)).name).toBe('portcullis_api_key_status');
    expect(await sent(true)).not.toHaveProperty('name');
  });
});
