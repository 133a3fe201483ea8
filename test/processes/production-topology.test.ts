import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { PasswordHasher } from '../../src/core/crypto/password-hasher';
import { valueOf } from '../observability/metrics-text';
import { startNginxLoadBalancer, type Nginx } from '../support/nginx';
import { startPgbouncer, type Pgbouncer } from '../support/pgbouncer';
import { createStreamingPair, type StreamingPair } from '../support/replica';
import { startGatewayFleet, type FleetMember } from '../support/gateway-fleet';
import { OWNER_EMAIL, OWNER_PASSWORD } from '../support/test-gateway';

/**
 * Issue 16's whole deployment at once, as its checker builds it: a PostgreSQL primary with a
 * streaming replica, pgbouncer in transaction mode in front of the primary, three gateway processes
 * (pooled DATABASE_URL, DATABASE_DIRECT_URL, DATABASE_REPLICA_URLS) behind nginx running
 * deploy/nginx.conf. Under mixed load through nginx, accounts are locked and an API key revoked:
 * no request sent after the change returned may be served with the old authority beyond the
 * freshness rule's second, on whichever process nginx picks; metrics move on every process.
 */

const PROCESSES = 3;
const VICTIMS = 3;
const VICTIM_PASSWORD = 'victim password 123';
const METRICS_TOKEN = 'metrics-token-of-the-topology-test';
const ME = '{ me { id } }';
const MEMBERS = 'query ($orgId: ID!) { users(orgId: $orgId, first: 20) { totalCount edges { node { id } } } }';
const LOGIN = 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }';
/** The freshness rule: a change reaches every process within a second. */
const FRESHNESS_MS = 1_000;

type Gateway = FleetMember;
type Outcome = { sentAt: number; ok: boolean };

let pair: StreamingPair;
let pgbouncer: Pgbouncer;
let gateways: Gateway[] = [];
let nginx: Nginx;
let primarySql: Client;
let dataDir: string;
let ownerToken: string;
let orgId: string;

async function graphql(query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(`${nginx.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function scrape(gateway: Gateway, token?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, text: await response.text() };
}

beforeAll(async () => {
  pair = await createStreamingPair();
  pgbouncer = await startPgbouncer({ serverPort: pair.primary.port, poolMode: 'transaction', defaultPoolSize: 6 });
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-topology-'));
  gateways = await startGatewayFleet(PROCESSES, {
    DATABASE_URL: pgbouncer.url('portcullis'),
    DATABASE_DIRECT_URL: pair.primaryUrl,
    DATABASE_REPLICA_URLS: pair.replicaUrl,
    DATABASE_POOL_SIZE: '4',
    METRICS_TOKEN,
    DATA_DIR: dataDir,
  });
  nginx = await startNginxLoadBalancer(gateways.map((g) => g.port));
  primarySql = new Client({ connectionString: pair.primaryUrl });
  await primarySql.connect();
  const login = await graphql(LOGIN, { e: OWNER_EMAIL, p: OWNER_PASSWORD });
  ownerToken = login.body.data.login.accessToken;
  orgId = (await graphql('{ me { memberships { org { id } } } }', {}, ownerToken)).body.data.me.memberships[0].org.id;
}, 300_000);

afterAll(async () => {
  await primarySql?.end();
  await nginx?.stop();
  await Promise.all(gateways.map((g) => g.spawned.forceStop()));
  await pgbouncer?.destroy();
  await pair?.destroy();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Members of the org who sign in through nginx: the accounts the test then locks. */
async function signedInVictims(): Promise<Array<{ id: string; token: string }>> {
  const hash = await new PasswordHasher(4).hash(VICTIM_PASSWORD);
  const victims = [];
  for (let i = 0; i < VICTIMS; i++) {
    const email = `victim-${i}@example.com`;
    const {
      rows: [user],
    } = await primarySql.query<{ id: string }>(
      'INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id',
      [email, hash],
    );
    await primarySql.query(
      `INSERT INTO memberships (org_id, user_id, role_id) SELECT $1, $2, id FROM roles WHERE org_id = $1 AND key = 'viewer'`,
      [orgId, user.id],
    );
    const login = await graphql(LOGIN, { e: email, p: VICTIM_PASSWORD });
    victims.push({ id: user.id, token: login.body.data.login.accessToken as string });
  }
  return victims;
}

/**
 * Sends `request` in `workers` loops until `stop()` is true, keeping when each was sent and whether
 * it was served.
 */
async function loadUntil(
  stop: () => boolean,
  workers: number,
  request: () => Promise<boolean>,
  outcomes: Outcome[],
): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!stop()) {
        const sentAt = performance.now();
        const ok = await request().catch(() => false);
        outcomes.push({ sentAt, ok });
      }
    }),
  );
}

/** How long after `changedAt` a request sent was still served: 0 when none was. */
function servedAfter(outcomes: Outcome[], changedAt: number): number {
  return Math.max(0, ...outcomes.filter((o) => o.ok && o.sentAt > changedAt).map((o) => o.sentAt - changedAt));
}

it('under mixed load, locks and a key revocation reach every process within the freshness rule', async () => {
  const victims = await signedInVictims();
  const key = await graphql(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token apiKey { id } } }',
    {
      input: {
        ownerId: (await graphql(ME, {}, ownerToken)).body.data.me.id,
        orgId,
        name: 'load',
        scopes: ['org:read'],
      },
    },
    ownerToken,
  );
  const apiKey = key.body.data.createKey;

  let stopped = false;
  const victimOutcomes = victims.map(() => [] as Outcome[]);
  const keyOutcomes: Outcome[] = [];
  const ownerOutcomes: Outcome[] = [];
  // Each credential on both paths: GraphQL (checked against the database on every request) and
  // /auth/check (answered from the process's cache while the freshness lease holds).
  const checked = async (token: string) =>
    (await fetch(`${nginx.url}/auth/check`, { headers: { authorization: `Bearer ${token}` } })).status === 200;
  const orgById = 'query ($id: ID!) { org(id: $id) { id } }';
  const load = Promise.all([
    ...victims.flatMap((victim, i) => [
      loadUntil(
        () => stopped,
        1,
        async () => (await graphql(ME, {}, victim.token)).body.data?.me?.id === victim.id,
        victimOutcomes[i],
      ),
      loadUntil(
        () => stopped,
        1,
        () => checked(victim.token),
        victimOutcomes[i],
      ),
    ]),
    loadUntil(
      () => stopped,
      1,
      async () => (await graphql(orgById, { id: orgId }, apiKey.token)).body.data?.org?.id === orgId,
      keyOutcomes,
    ),
    loadUntil(
      () => stopped,
      1,
      () => checked(apiKey.token),
      keyOutcomes,
    ),
    // Member pages (a replica's reads) and forward auth beside them.
    loadUntil(
      () => stopped,
      2,
      async () => (await graphql(MEMBERS, { orgId }, ownerToken)).body.data?.users?.totalCount > VICTIMS,
      ownerOutcomes,
    ),
    loadUntil(
      () => stopped,
      1,
      () => checked(ownerToken),
      ownerOutcomes,
    ),
  ]);

  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const changedAt: number[] = [];
  for (const victim of victims) {
    const locked = await graphql('mutation ($id: ID!) { lock(userId: $id) { id } }', { id: victim.id }, ownerToken);
    expect(locked.body.errors).toBeUndefined();
    changedAt.push(performance.now());
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
  const revoked = await graphql(
    'mutation ($id: ID!) { revokeKey(id: $id) { id } }',
    { id: apiKey.apiKey.id },
    ownerToken,
  );
  expect(revoked.body.errors).toBeUndefined();
  const keyRevokedAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  stopped = true;
  await load;

  const delays = victims.map((_, i) => servedAfter(victimOutcomes[i], changedAt[i]));
  const keyDelay = servedAfter(keyOutcomes, keyRevokedAt);
  const sent = [...victimOutcomes.flat(), ...keyOutcomes, ...ownerOutcomes].length;
  console.info(
    `${sent} requests through nginx to ${PROCESSES} gateways; worst service after a lock ${Math.max(...delays).toFixed(1)} ms, after the key's revocation ${keyDelay.toFixed(1)} ms`,
  );
  // Each credential was in use before its change, and refused from the freshness second on.
  for (const [i, outcomes] of victimOutcomes.entries()) {
    expect(outcomes.some((o) => o.ok && o.sentAt < changedAt[i])).toBe(true);
    expect(delays[i]).toBeLessThan(FRESHNESS_MS);
  }
  expect(keyOutcomes.some((o) => o.ok && o.sentAt < keyRevokedAt)).toBe(true);
  expect(keyDelay).toBeLessThan(FRESHNESS_MS);
  // The owner's traffic went on being served throughout.
  expect(ownerOutcomes.filter((o) => !o.ok)).toEqual([]);
}, 120_000);

it('every process counts what it served, behind METRICS_TOKEN', async () => {
  for (const gateway of gateways) {
    expect((await scrape(gateway)).status).toBe(401);
    const { status, text } = await scrape(gateway, METRICS_TOKEN);
    expect(status).toBe(200);
    expect(
      valueOf(text, 'portcullis_http_requests_total', { route: '/graphql', operation: 'me', code: '200' }),
    ).toBeGreaterThan(0);
    expect(valueOf(text, 'portcullis_auth_events_total', { kind: 'forward_auth', outcome: 'success' })).toBeGreaterThan(
      0,
    );
    expect(valueOf(text, 'portcullis_db_pool_connections', { state: 'idle' })).toBeGreaterThanOrEqual(0);
  }
});

it('the traffic went through pgbouncer, and the LISTEN connections straight to the primary', async () => {
  const pools = await pgbouncer.admin<{ database: string; pool_mode: string }>('SHOW POOLS');
  expect(pools.find((pool) => pool.database === 'portcullis')?.pool_mode).toBe('transaction');
  const { rows } = await primarySql.query<{ count: string }>(
    `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'portcullis-invalidation'`,
  );
  expect(Number(rows[0].count)).toBe(PROCESSES);
});
