import { Client } from 'pg';
import { MEMBER_PASSWORD, createOrgAs, person, roleId, type Person } from '../support/fixtures';
import { spawnSecondGateway } from '../support/second-gateway';
import { waitForHealthy, type SpawnedScript } from '../support/spawn-gateway';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * The freshness rule for cached credential checks and /auth/check answers (README, "Revocation
 * across processes"): a change applies to the very next request on the process that committed it
 * (A, this one), and to every request starting more than 1 s after its commit on any other (B, a
 * process of its own on the same database). Every case first proves that both processes answer
 * from their caches, so a refusal afterwards shows invalidation, not a cold read.
 */
let server: TestGateway;
let second: SpawnedScript;
let secondUrl: string;
let owner: Person;
let orgId: string;
let resourceId: string;

const RESOURCE = 'fresh-api';
const OTHER_PROCESS_BOUND_MS = 1_200;

type Answer = { status: number; role: string | null };

async function check(base: string, token: string, resource?: string, level?: string): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (resource) headers['x-resource'] = resource;
  if (level) headers['x-access-level'] = level;
  const response = await fetch(`${base}/auth/check`, { headers });
  await response.arrayBuffer();
  return { status: response.status, role: response.headers.get('x-role') };
}

/** The statements this process ran for one call. */
async function statementsOf(call: () => Promise<unknown>): Promise<number> {
  const before = server.gateway.database.statements.total;
  await call();
  return server.gateway.database.statements.total - before;
}

/**
 * Calls until an answer costs this process no statement (at most 2 s: this process also hears its
 * own writes' notifications, a moment after it has already forgotten what they changed), and
 * answers that warm answer.
 */
async function warmOnA(probe: () => Promise<Answer>): Promise<Answer> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    let answer: Answer | undefined;
    const statements = await statementsOf(async () => (answer = await probe()));
    if (statements === 0 || Date.now() > deadline) {
      expect(statements).toBe(0);
      return answer as Answer;
    }
  }
}

/**
 * A change that no trigger announces (replica role), made from a connection of its own so that
 * neither process hears of it: a process still answering as before is answering from its cache.
 */
async function unannounced(sql: string): Promise<void> {
  const client = new Client({ connectionString: server.databaseUrl });
  await client.connect();
  try {
    await client.query(`BEGIN; SET LOCAL session_replication_role = replica; ${sql}; COMMIT`);
  } finally {
    await client.end();
  }
}

async function mutate(query: string, variables: Record<string, unknown>, token = owner.token) {
  const response = await server.graphql(query, variables, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

/** Polls B until `refused` holds, for at most the bound; answers whether it did and the last answer. */
async function onBWithinBound(probe: () => Promise<Answer>, refused: (answer: Answer) => boolean) {
  const committed = Date.now();
  let answer = await probe();
  while (!refused(answer) && Date.now() - committed < OTHER_PROCESS_BOUND_MS) answer = await probe();
  return { refused: refused(answer), answer, afterMs: Date.now() - committed };
}

type Case = {
  name: string;
  /** A credential, how to probe it, and the answer it gets before the change. */
  subject(): Promise<{ token: string; resource?: string; level?: string; refs: Record<string, string> }>;
  before: (answer: Answer) => boolean;
  after: (answer: Answer) => boolean;
  /** The same change made unannounced, and its undoing (SQL), to prove both processes cached. */
  silent(refs: Record<string, string>): [string, string];
  /** The change itself, through A's API. */
  change(refs: Record<string, string>, token: string): Promise<void>;
};

const ok = (answer: Answer) => answer.status === 200;
const unauthenticated = (answer: Answer) => answer.status === 401;
const forbidden = (answer: Answer) => answer.status === 403;

async function member(name: string, role = 'viewer') {
  const subject = await person(server, name, { orgId, role });
  const [session] = await server.sql<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [subject.id]);
  return { subject, sessionId: session.id };
}

const cases: Case[] = [
  {
    name: 'revoking an API key',
    async subject() {
      const account = await mutate(
        'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
        { input: { orgId, name: 'Fresh Bot', roleId: await roleId(server, orgId, 'viewer') } },
      );
      const key = await mutate(
        'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token apiKey { id } } }',
        { input: { ownerId: account.createServiceAccount.id, name: 'fresh', scopes: ['org:read'] } },
      );
      return { token: key.createKey.token, refs: { keyId: key.createKey.apiKey.id } };
    },
    before: ok,
    after: unauthenticated,
    silent: ({ keyId }) => [
      `UPDATE api_keys SET status = 'REVOKED' WHERE id = '${keyId}'`,
      `UPDATE api_keys SET status = 'ACTIVE' WHERE id = '${keyId}'`,
    ],
    async change({ keyId }) {
      await mutate('mutation ($id: ID!) { revokeKey(id: $id) { id } }', { id: keyId });
    },
  },
  {
    name: 'revoking a session',
    async subject() {
      const { subject, sessionId } = await member('freshrevoked');
      return { token: subject.token, refs: { sessionId } };
    },
    before: ok,
    after: unauthenticated,
    silent: ({ sessionId }) => [
      `UPDATE sessions SET revoked_at = now() WHERE id = '${sessionId}'`,
      `UPDATE sessions SET revoked_at = NULL WHERE id = '${sessionId}'`,
    ],
    async change({ sessionId }, token) {
      await mutate('mutation ($id: ID!) { revokeSession(id: $id) }', { id: sessionId }, token);
    },
  },
  {
    name: 'signing out',
    async subject() {
      const { subject, sessionId } = await member('freshlogout');
      const signedIn = await server.login(subject.email, MEMBER_PASSWORD);
      const [session] = await server.sql<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1 AND id <> $2', [
        subject.id,
        sessionId,
      ]);
      return { token: signedIn.accessToken, refs: { sessionId: session.id, refreshToken: signedIn.refreshToken } };
    },
    before: ok,
    after: unauthenticated,
    silent: ({ sessionId }) => [
      `UPDATE sessions SET revoked_at = now() WHERE id = '${sessionId}'`,
      `UPDATE sessions SET revoked_at = NULL WHERE id = '${sessionId}'`,
    ],
    async change({ refreshToken }) {
      await mutate('mutation ($t: String!) { logout(refreshToken: $t) }', { t: refreshToken }, '');
    },
  },
  {
    name: 'locking an account',
    async subject() {
      const { subject } = await member('freshlocked');
      return { token: subject.token, refs: { userId: subject.id } };
    },
    before: ok,
    after: unauthenticated,
    silent: ({ userId }) => [
      `UPDATE users SET locked_at = now() WHERE id = '${userId}'`,
      `UPDATE users SET locked_at = NULL WHERE id = '${userId}'`,
    ],
    async change({ userId }) {
      await mutate('mutation ($u: ID!) { lock(userId: $u) { id } }', { u: userId });
    },
  },
  {
    name: 'deactivating a membership',
    async subject() {
      const { subject } = await member('freshdeactivated');
      return { token: subject.token, refs: { userId: subject.id } };
    },
    before: ok,
    after: forbidden,
    silent: ({ userId }) => [
      `UPDATE memberships SET status = 'DEACTIVATED' WHERE user_id = '${userId}'`,
      `UPDATE memberships SET status = 'ACTIVE' WHERE user_id = '${userId}'`,
    ],
    async change({ userId }) {
      await mutate('mutation ($o: ID!, $u: ID!) { deactivate(orgId: $o, userId: $u) { id } }', { o: orgId, u: userId });
    },
  },
  {
    name: 'changing a role',
    async subject() {
      const { subject } = await member('freshrole');
      return {
        token: subject.token,
        refs: {
          userId: subject.id,
          viewer: await roleId(server, orgId, 'viewer'),
          admin: await roleId(server, orgId, 'admin'),
        },
      };
    },
    before: (answer) => answer.status === 200 && answer.role === 'viewer',
    after: (answer) => answer.status === 200 && answer.role === 'admin',
    silent: ({ userId, viewer, admin }) => [
      `UPDATE memberships SET role_id = '${admin}' WHERE user_id = '${userId}'`,
      `UPDATE memberships SET role_id = '${viewer}' WHERE user_id = '${userId}'`,
    ],
    async change({ userId, admin }) {
      await mutate('mutation ($o: ID!, $r: ID!, $u: ID!) { changeRole(orgId: $o, roleId: $r, userId: $u) { id } }', {
        o: orgId,
        r: admin,
        u: userId,
      });
    },
  },
  {
    name: 'revoking a grant',
    async subject() {
      const { subject } = await member('freshgrant');
      const grant = await mutate(
        'mutation ($r: ID!, $p: ID!) { grantAccess(resourceId: $r, principalId: $p, level: WRITE) { id } }',
        { r: resourceId, p: subject.id },
      );
      return { token: subject.token, resource: RESOURCE, level: 'WRITE', refs: { grantId: grant.grantAccess.id } };
    },
    before: ok,
    after: forbidden,
    silent: ({ grantId }) => [
      `UPDATE access_grants SET level = 'READ' WHERE id = '${grantId}'`,
      `UPDATE access_grants SET level = 'WRITE' WHERE id = '${grantId}'`,
    ],
    async change({ grantId }) {
      await mutate('mutation ($g: ID!) { revokeAccess(grantId: $g) }', { g: grantId });
    },
  },
];

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'freshowner');
  orgId = await createOrgAs(server, owner.token, 'Fresh Org');
  const created = await mutate('mutation ($input: CreateResourceInput!) { createResource(input: $input) { id } }', {
    input: { orgId, name: RESOURCE, environment: 'prod', category: 'api', customerIds: [] },
  });
  resourceId = created.createResource.id;
  ({ spawned: second, url: secondUrl } = await spawnSecondGateway(server));
  await waitForHealthy(second, secondUrl);
});

afterAll(async () => {
  await second?.forceStop();
  await server?.close();
});

describe.each(cases)('$name', (testCase) => {
  it('applies to the next request on the process that made it, and within 1 s on another', async () => {
    const { token, resource, level, refs } = await testCase.subject();
    const onA = () => check(server.url, token, resource, level);
    const onB = () => check(secondUrl, token, resource, level);

    // Warm on both: A's third answer costs no statement; B keeps answering through an unannounced change.
    expect(testCase.before(await onB())).toBe(true);
    expect(testCase.before(await warmOnA(onA))).toBe(true);
    expect(testCase.before(await onB())).toBe(true);
    const [change, undo] = testCase.silent(refs);
    await unannounced(change);
    expect(testCase.before(await onB())).toBe(true);
    await unannounced(undo);

    await testCase.change(refs, token);
    expect(testCase.after(await onA())).toBe(true);
    const b = await onBWithinBound(onB, testCase.after);
    expect(b).toMatchObject({ refused: true });
  });
});

describe('a warm /auth/check', () => {
  it('reaches no database, for a token and with X-Resource, and the LISTEN connection is not counted', async () => {
    const { subject } = await member('freshwarm');
    await mutate('mutation ($r: ID!, $p: ID!) { grantAccess(resourceId: $r, principalId: $p, level: READ) { id } }', {
      r: resourceId,
      p: subject.id,
    });
    for (const resource of [undefined, RESOURCE]) {
      // Cold: the credential and the decision are read; warm: nothing.
      expect(await statementsOf(() => check(server.url, subject.token, resource))).toBeGreaterThan(0);
      expect((await warmOnA(() => check(server.url, subject.token, resource))).status).toBe(200);
    }
    // Heartbeats run every 150 ms on the listener's own connection, outside TypeORM's counter.
    expect(await statementsOf(() => new Promise((resolve) => setTimeout(resolve, 500)))).toBe(0);
  });
});

describe('with the LISTEN connection killed', () => {
  it('still answers by the database, and caches again once it listens again', async () => {
    const { subject } = await member('freshkilled');
    const probe = () => check(server.url, subject.token);
    expect((await warmOnA(probe)).status).toBe(200);

    const outside = new Client({ connectionString: server.databaseUrl });
    await outside.connect();
    try {
      const killed = await outside.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'portcullis-invalidation' AND datname = current_database() AND pid <> pg_backend_pid()`,
      );
      expect(killed.rowCount).toBeGreaterThan(0);
      // A lock nobody announces: only bypassing the cache while deaf, or emptying it on reconnecting, sees it.
      await outside.query(
        `BEGIN; SET LOCAL session_replication_role = replica; UPDATE users SET locked_at = now() WHERE id = '${subject.id}'; COMMIT`,
      );
      const locked = await onBWithinBound(probe, unauthenticated);
      expect(locked).toMatchObject({ refused: true });

      await outside.query(
        `BEGIN; SET LOCAL session_replication_role = replica; UPDATE users SET locked_at = NULL WHERE id = '${subject.id}'; COMMIT`,
      );
      // Caching resumes once the listener is back (it retries with backoff from 100 ms).
      const deadline = Date.now() + 10_000;
      let statements = -1;
      while (statements !== 0 && Date.now() < deadline) {
        expect((await probe()).status).toBe(200);
        statements = await statementsOf(probe);
        if (statements !== 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(statements).toBe(0);
    } finally {
      await outside.end();
    }
  });
});
