import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { PasswordHasher } from '../../src/core/crypto/password-hasher';
import { createTestDatabase } from '../support/database';
import { startNginxLoadBalancer, type Nginx } from '../support/nginx';
import { PinnedConnection, type Answer } from '../support/pinned-connection';
import { startGatewayFleet, type FleetMember } from '../support/gateway-fleet';
import { withTimeout } from '../support/spawn-gateway';
import { OWNER_EMAIL, OWNER_PASSWORD } from '../support/test-gateway';

/**
 * Three gateway processes on one database behind nginx running deploy/nginx.conf (round robin).
 * A lock or a key revocation made through any process is refused by every process on the very
 * next request, whichever one nginx picks, and by each one asked directly. The client's address,
 * not nginx's, is what the gateways record (TRUST_PROXY=1).
 */

const PROCESSES = 3;
const VICTIM_PASSWORD = 'victim password 123';
/** The test's own loopback address towards nginx; nginx reaches the gateways from 127.0.0.1. */
const CLIENT_ADDRESS = '127.0.0.2';
const ME = '{ me { id } }';
const MEMBERS = 'query ($orgId: ID!) { users(orgId: $orgId) { totalCount } }';
const LOGIN = 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }';

type Gateway = FleetMember;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
let sql: Client;
let gateways: Gateway[] = [];
let nginx: Nginx & { accessLog: string };
let nginxPort: number;
let client: PinnedConnection;
let ownerToken: string;
let orgId: string;

/** A request through nginx, from CLIENT_ADDRESS; `upstream` is the process that answered. */
async function viaNginx(
  query: string,
  variables: Record<string, unknown>,
  token?: string,
  headers: Record<string, string> = {},
): Promise<Answer & { upstream: string }> {
  const answer = await client.request('POST', '/graphql', JSON.stringify({ query, variables }), {
    'content-type': 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...headers,
  });
  return { ...answer, upstream: String(answer.headers['x-upstream'] ?? '') };
}

async function direct(gateway: Gateway, query: string, variables: Record<string, unknown>, token: string) {
  const connection = new PinnedConnection(gateway.port);
  try {
    return await connection.graphql(query, variables, token);
  } finally {
    connection.close();
  }
}

function codeOf(answer: Answer): string | undefined {
  return answer.body.errors?.[0]?.extensions?.code;
}

/**
 * The next `PROCESSES` requests through nginx, one after another: round robin sends one to each
 * process, which the test checks rather than assumes.
 */
async function nextRoundThroughNginx(query: string, variables: Record<string, unknown>, token: string) {
  const answers = [];
  for (let sent = 0; sent < PROCESSES; sent++) answers.push(await viaNginx(query, variables, token));
  expect(new Set(answers.map((answer) => answer.upstream))).toEqual(new Set(gateways.map((g) => g.address)));
  return answers;
}

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-nginx-lb-'));
  // All three start at once on the empty database: they race on migrations and the first owner.
  gateways = await startGatewayFleet(PROCESSES, { DATABASE_URL: database.url, DATA_DIR: dataDir });
  nginx = await startNginxLoadBalancer(gateways.map((g) => g.port));
  nginxPort = Number(new URL(nginx.url).port);
  client = new PinnedConnection(nginxPort, { localAddress: CLIENT_ADDRESS });
  sql = new Client({ connectionString: database.url });
  await sql.connect();

  const login = await viaNginx(LOGIN, { e: OWNER_EMAIL, p: OWNER_PASSWORD });
  ownerToken = login.body.data.login.accessToken;
  const me = await viaNginx('{ me { memberships { org { id } } } }', {}, ownerToken);
  orgId = me.body.data.me.memberships[0].org.id;
}, 300_000);

afterAll(async () => {
  client?.close();
  await sql?.end();
  await nginx?.stop();
  await Promise.all(gateways.map((g) => g.spawned.forceStop()));
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

it('three processes that started together on an empty database made one owner', async () => {
  const { rows } = await sql.query<{ count: string }>('SELECT count(*) FROM users');
  expect(rows[0].count).toBe('1');
});

it('spreads requests over every process, passes request ids, and keeps /metrics inside', async () => {
  const answers = await nextRoundThroughNginx(ME, {}, ownerToken);
  for (const answer of answers) expect(answer.body.data.me.id).toEqual(expect.any(String));

  const chosen = await viaNginx(ME, {}, ownerToken, { 'x-request-id': 'client-chosen-id-1' });
  expect(chosen.headers['x-request-id']).toBe('client-chosen-id-1');
  const generated = await viaNginx(ME, {}, ownerToken);
  const generatedId = String(generated.headers['x-request-id']);
  // nginx's $request_id: the gateway kept it, so the access log and the gateway's logs agree.
  expect(generatedId).toMatch(/^[0-9a-f]{32}$/);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await readFile(nginx.accessLog, 'utf8')).toContain(generatedId);

  const metrics = await client.request('GET', '/metrics');
  expect(metrics.status).toBe(404);
  expect(metrics.headers['x-upstream']).toBeUndefined();
});

it('a lock made through one process is refused by every process on the next request', async () => {
  const hash = await new PasswordHasher(4).hash(VICTIM_PASSWORD);
  const email = 'locked.victim@example.com';
  const {
    rows: [victim],
  } = await sql.query<{ id: string }>(`INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id`, [
    email,
    hash,
  ]);
  await sql.query(
    `INSERT INTO memberships (org_id, user_id, role_id) SELECT $1, $2, id FROM roles WHERE org_id = $1 AND key = 'viewer'`,
    [orgId, victim.id],
  );
  const token = (await viaNginx(LOGIN, { e: email, p: VICTIM_PASSWORD })).body.data.login.accessToken as string;
  for (const answer of await nextRoundThroughNginx(ME, {}, token)) expect(answer.body.data.me.id).toBe(victim.id);

  // The client claims another address; nginx appends the one it saw, the only one believed.
  const locked = await viaNginx('mutation ($id: ID!) { lock(userId: $id) { id } }', { id: victim.id }, ownerToken, {
    'x-forwarded-for': '203.0.113.9',
  });
  expect(locked.body).toEqual({ data: { lock: { id: victim.id } } });

  for (const answer of await nextRoundThroughNginx(ME, {}, token)) expect(codeOf(answer)).toBe('UNAUTHENTICATED');
  for (const gateway of gateways) expect(codeOf(await direct(gateway, ME, {}, token))).toBe('UNAUTHENTICATED');

  const { rows } = await sql.query<{ ip_address: string }>(
    `SELECT ip_address FROM audit_logs WHERE action = 'user.locked' AND target_id = $1`,
    [victim.id],
  );
  // The account's record and its copy in the org's chain.
  expect(rows.length).toBeGreaterThan(0);
  expect(rows.map((row) => row.ip_address)).toEqual(rows.map(() => CLIENT_ADDRESS));
});

it('a key revoked through one process is refused by every process on the next request', async () => {
  const account = await viaNginx(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
    {
      input: {
        orgId,
        name: 'Deploy Bot',
        roleId: (await sql.query(`SELECT id FROM roles WHERE org_id = $1 AND key = 'admin'`, [orgId])).rows[0].id,
      },
    },
    ownerToken,
  );
  const created = await viaNginx(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token apiKey { id } } }',
    { input: { ownerId: account.body.data.createServiceAccount.id, name: 'ci', scopes: ['members:read'] } },
    ownerToken,
  );
  const { token, apiKey } = created.body.data.createKey;
  for (const answer of await nextRoundThroughNginx(MEMBERS, { orgId }, token)) {
    expect(answer.body.data.users.totalCount).toBeGreaterThan(0);
  }

  const revoked = await viaNginx(
    'mutation ($id: ID!) { revokeKey(id: $id) { status } }',
    { id: apiKey.id },
    ownerToken,
  );
  expect(revoked.body.data.revokeKey.status).toBe('REVOKED');

  for (const answer of await nextRoundThroughNginx(MEMBERS, { orgId }, token)) {
    expect(codeOf(answer)).toBe('UNAUTHENTICATED');
  }
  for (const gateway of gateways) {
    expect(codeOf(await direct(gateway, MEMBERS, { orgId }, token))).toBe('UNAUTHENTICATED');
  }
});

it('passes requests, POSTs included, to the other processes once one has stopped', async () => {
  const [stopped, ...running] = gateways;
  stopped.spawned.child.kill('SIGTERM');
  expect(await withTimeout(stopped.spawned.exited, 30_000, () => 'the gateway did not stop')).toEqual({
    code: 0,
    signal: null,
  });
  for (let sent = 0; sent < 2 * PROCESSES; sent++) {
    const answer = await viaNginx(ME, {}, ownerToken);
    expect(answer.body.data.me.id).toEqual(expect.any(String));
    // A refused connection sent nothing, so even a POST may go on to the next process.
    expect(running.map((g) => g.address)).toContain(answer.upstream.split(', ').at(-1));
  }
});
