/**
 * Everything the scenarios run against: a fresh `portcullis_bench` database, the gateway as a real
 * process (`node bin/portcullis.js serve`, migrating it), the seed (an org of 1,000 members, a
 * resource with a grant, a personal API key), the baseline server and PostGraphile, each of the
 * three reaching PostgreSQL through its own counting proxy.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { CONFIG_VARIABLES } from '../../src/core/config/config';
import { PasswordHasher } from '../../src/core/crypto/password-hasher';
import { graphql } from './load';
import {
  freePort,
  makeTempDir,
  onCleanUp,
  startChild,
  startScript,
  waitUntilUp,
  type Child,
  REPO_ROOT,
} from './processes';
import type { Proxies } from './proxies';

export const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** This run's own database: two runs at once (or a test reusing this module) never share one. */
export const DATABASE = `portcullis_bench_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;

/** A leftover is a bench database this old that nobody is connected to: no run lasts that long. */
const LEFTOVER_AGE_SECONDS = 6 * 3600;
export const MEMBERS = 1000;
export const PASSWORD = 'bench password 0123456789';
export const BCRYPT_COST = 10;
const SECRET_KEY = 'bench-only-secret-key-0123456789abcdefghijklmnop';
const AUDIENCE = 'portcullis';

export type Server = { name: string; url: string; proxy: string; child: Child };

export type Seed = {
  orgId: string;
  ownerId: string;
  ownerToken: string;
  /** A personal access token of the owner, scoped to org:read and members:read. */
  apiKey: string;
  resourceName: string;
  /** A viewer granted READ on the resource, signed in to the org. */
  grantedToken: string;
  /** Emails of members who are not the owner, for sign-in scenarios (all share PASSWORD). */
  memberEmails: string[];
};

async function admin<T>(work: (client: Client) => Promise<T>, url = ADMIN_URL): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export function databaseUrl(host: string, port: number): string {
  const url = new URL(ADMIN_URL);
  url.hostname = host;
  url.port = String(port);
  url.pathname = `/${DATABASE}`;
  return url.toString();
}

/**
 * A fresh database, dropped at the end. Bench databases a crashed run left behind are dropped
 * first: those created (by the time in their name) more than 6 hours ago that nobody is connected
 * to; a younger one may be another run's, created and not yet connected to.
 */
export async function createDatabase(): Promise<void> {
  await admin(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database d
        WHERE datname ~ '^portcullis_bench_[0-9]+_[0-9a-f]+$'
          AND split_part(datname, '_', 3)::bigint < extract(epoch FROM now()) - $1
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
      [LEFTOVER_AGE_SECONDS],
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}"`);
  });
  await admin((client) => client.query(`CREATE DATABASE ${DATABASE}`));
  onCleanUp(() => admin((client) => client.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`)).then(() => {}));
}

/** Runs SQL on the bench database directly (not through a proxy). */
export function benchSql<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
  const upstream = new URL(ADMIN_URL);
  return admin(
    async (client) => (await client.query(text, params)).rows as T[],
    databaseUrl(upstream.hostname, Number(upstream.port || 5432)),
  );
}

/** Every abuse limit raised out of the way: the bench measures work, not refusals. */
function raisedLimits(): Record<string, string> {
  const limits: Record<string, string> = { LOGIN_SLOWDOWN_AFTER: '1000000000/1s', LOCKOUT_THRESHOLD: '1000' };
  for (const name of CONFIG_VARIABLES) if (name.startsWith('RATE_LIMIT_')) limits[name] = '1000000000/1s';
  return limits;
}

export function upstream(): { host: string; port: number } {
  const url = new URL(ADMIN_URL);
  return { host: url.hostname, port: Number(url.port || 5432) };
}

/** Builds dist/ as production does; `bin/portcullis.js serve` then runs it. */
export async function build(): Promise<void> {
  const child = startChild(
    'npm run build',
    [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {},
  );
  const code = await new Promise<number | null>((resolve) => child.process.once('close', resolve));
  if (code !== 0) throw new Error(`the build failed:\n${child.output()}`);
}

/** One gateway process, its database reached through the named proxy. */
export async function startGateway(
  proxies: Proxies,
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<Server> {
  const proxyPort = await proxies.start(name, upstream());
  const port = await freePort();
  const dataDir = makeTempDir('portcullis-bench-');
  const url = `http://127.0.0.1:${port}`;
  const child = startChild(name, ['bin/portcullis.js', 'serve'], {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: 'http://portcullis.bench',
    DATABASE_URL: databaseUrl('127.0.0.1', proxyPort),
    SECRET_KEY,
    DATA_DIR: dataDir,
    MAIL_TRANSPORT: 'outbox',
    BCRYPT_COST: String(BCRYPT_COST),
    ACCESS_TOKEN_TTL: '2h',
    BOOTSTRAP_EMAIL: 'root@bench.test',
    BOOTSTRAP_PASSWORD: PASSWORD,
    BOOTSTRAP_ORG: 'Root',
    LOG_LEVEL: 'warn',
    ...raisedLimits(),
    ...extraEnv,
  });
  await waitUntilUp(child, `${url}/readyz`);
  return { name, url, proxy: name, child };
}

export async function startBaseline(proxies: Proxies, gateway: Server): Promise<Server> {
  const proxyPort = await proxies.start('baseline', upstream());
  const port = await freePort();
  const child = startScript('baseline', path.join(__dirname, '../baseline/server.ts'), {
    BASELINE_DATABASE_URL: databaseUrl('127.0.0.1', proxyPort),
    BASELINE_PORT: String(port),
    JWKS_URL: `${gateway.url}/.well-known/jwks.json`,
    JWT_ISSUER: 'http://portcullis.bench',
    JWT_AUDIENCE: AUDIENCE,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(child, `${url}/healthz`);
  return { name: 'baseline', url, proxy: 'baseline', child };
}

export async function startPostGraphile(proxies: Proxies): Promise<Server> {
  const proxyPort = await proxies.start('postgraphile', upstream());
  const port = await freePort();
  const child = startScript('postgraphile', path.join(__dirname, '../postgraphile-server.ts'), {
    POSTGRAPHILE_DATABASE_URL: databaseUrl('127.0.0.1', proxyPort),
    POSTGRAPHILE_PORT: String(port),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(child, `${url}/healthz`);
  return { name: 'postgraphile', url, proxy: 'postgraphile', child };
}

const LOGIN = `mutation ($email: String!, $password: String!, $orgId: ID) {
  login(email: $email, password: $password, orgId: $orgId) { accessToken refreshToken user { id } }
}`;

export async function login(
  gateway: Server,
  email: string,
  orgId?: string,
): Promise<{ accessToken: string; refreshToken: string; userId: string }> {
  const data = await graphql(gateway.url, { query: LOGIN, variables: { email, password: PASSWORD, orgId } });
  return { ...data.login, userId: data.login.user.id };
}

/**
 * The org of 1,000: its owner (not a super user) creates it through the gateway, 999 members
 * are inserted with SQL sharing one bcrypt hash, then a resource, a grant and an API key through
 * the gateway's own mutations.
 */
export async function seed(gateway: Server): Promise<Seed> {
  const hash = await new PasswordHasher(BCRYPT_COST).hash(PASSWORD);
  const [owner] = await benchSql<{ id: string }>(
    `INSERT INTO users (email, password_hash, first_name, last_name, email_verified_at)
     VALUES ('owner@bench.test', $1, 'Bench', 'Owner', now()) RETURNING id`,
    [hash],
  );
  const first = await login(gateway, 'owner@bench.test');
  const created = await graphql(
    gateway.url,
    { query: 'mutation { createOrg(input: { name: "Bench" }) { id } }' },
    first.accessToken,
  );
  const orgId: string = created.createOrg.id;
  await benchSql(
    `WITH people AS (
       INSERT INTO users (email, password_hash, first_name, last_name, email_verified_at)
       SELECT format('member%s@bench.test', lpad(n::text, 4, '0')), $1, 'Member', n::text, now()
         FROM generate_series(1, $2::int) n
       RETURNING id, email)
     INSERT INTO memberships (org_id, user_id, role_id)
     SELECT $3, people.id, (SELECT id FROM roles WHERE org_id = $3 AND key =
              CASE WHEN people.email LIKE '%0@bench.test' THEN 'editor' ELSE 'viewer' END)
       FROM people`,
    [hash, MEMBERS - 1, orgId],
  );
  await benchSql('ANALYZE');
  const ownerToken = (await login(gateway, 'owner@bench.test', orgId)).accessToken;
  const resourceName = 'bench-api';
  const resource = await graphql(
    gateway.url,
    {
      query: 'mutation ($input: CreateResourceInput!) { createResource(input: $input) { id } }',
      variables: { input: { orgId, name: resourceName } },
    },
    ownerToken,
  );
  const granted = await login(gateway, 'member0001@bench.test', orgId);
  await graphql(
    gateway.url,
    {
      query: 'mutation ($r: ID!, $p: ID!) { grantAccess(resourceId: $r, principalId: $p, level: READ) { id } }',
      variables: { r: resource.createResource.id, p: granted.userId },
    },
    ownerToken,
  );
  const key = await graphql(
    gateway.url,
    {
      query: 'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
      variables: { input: { ownerId: owner.id, orgId, name: 'bench', scopes: ['org:read', 'members:read'] } },
    },
    ownerToken,
  );
  const memberEmails = Array.from(
    { length: MEMBERS - 1 },
    (_, i) => `member${String(i + 1).padStart(4, '0')}@bench.test`,
  );
  return {
    orgId,
    ownerId: owner.id,
    ownerToken,
    apiKey: key.createKey.token,
    resourceName,
    grantedToken: granted.accessToken,
    memberEmails: memberEmails.slice(1),
  };
}
