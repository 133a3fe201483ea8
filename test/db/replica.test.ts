import { person, type Person } from '../support/fixtures';
import { errorCode, graphqlRequest } from '../support/graphql-client';
import { createStreamingPair, until, type StreamingPair } from '../support/replica';
import { spawnSecondGateway, type SecondGateway } from '../support/second-gateway';
import { waitForHealthy } from '../support/spawn-gateway';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * A gateway on a private primary with a streaming replica of it. Whether a read came from the
 * replica shows in what it returns: with the replica's replay paused, a row changed on the primary
 * meanwhile reads old there and new on the primary.
 */

jest.setTimeout(120_000);

const MAX_LAG_SECONDS = 2;
const WINDOW_SECONDS = 2;

let pair: StreamingPair;
let server: TestGateway;
let second: SecondGateway;
let orgId: string;
let bob: Person;
let carol: Person;

const replicaEnv = () => ({
  DATABASE_URL: pair.primaryUrl,
  DATABASE_REPLICA_URLS: pair.replicaUrl,
  REPLICA_MAX_LAG: `${MAX_LAG_SECONDS}s`,
  READ_YOUR_WRITES_WINDOW: `${WINDOW_SECONDS}s`,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Out of every read-your-writes window: the sign-ins of the setup were mutations. */
const outOfWindow = () => sleep(WINDOW_SECONDS * 1000 + 300);

const ME = '{ me { firstName } }';
const USER = 'query ($id: ID!) { user(id: $id) { firstName } }';
const RENAME = 'mutation ($id: ID!, $name: String!) { updateUser(id: $id, input: { firstName: $name }) { firstName } }';

async function firstNameOf(who: Person, url = server.url): Promise<string> {
  const response = await graphqlRequest(url, ME, {}, { token: who.token });
  if (!response.data?.me) throw new Error(`me failed: ${JSON.stringify(response.errors)}`);
  return response.data.me.firstName;
}

/** Renames on the primary behind the gateway's back: no mutation, so no read-your-writes window. */
async function renameInSql(who: Person, name: string): Promise<void> {
  await server.sql('UPDATE users SET first_name = $1 WHERE id = $2', [name, who.id]);
}

/** Waits until the replica serves Bob's reads: with replay paused, a rename meanwhile reads stale. */
async function replicaInUse(url = server.url): Promise<void> {
  await until(async () => {
    await pair.pauseReplay();
    try {
      await renameInSql(bob, 'Probe');
      return (await firstNameOf(bob, url)) === 'Bob';
    } finally {
      await renameInSql(bob, 'Bob');
      await pair.resumeReplay();
    }
  }, 'the replica serving reads');
}

beforeAll(async () => {
  pair = await createStreamingPair();
  server = await startTestGateway(replicaEnv());
  const { accessToken } = await server.login();
  orgId = (await server.graphql('{ me { memberships { org { id } } } }', {}, { token: accessToken })).data.me
    .memberships[0].org.id;
  bob = await person(server, 'Bob', { orgId, role: 'admin' });
  carol = await person(server, 'Carol', { orgId, role: 'admin' });
  second = await spawnSecondGateway(server, replicaEnv());
  await waitForHealthy(second.spawned, second.url);
  await outOfWindow();
});

afterAll(async () => {
  await second?.spawned.forceStop();
  await server?.close();
  await pair?.destroy();
});

it('serves read-only queries from the replica', async () => {
  await replicaInUse();
  await pair.pauseReplay();
  await renameInSql(bob, 'Robert');
  expect(await firstNameOf(bob)).toBe('Bob');
  // The replica really is behind: the primary has the new name.
  expect((await server.sql('SELECT first_name FROM users WHERE id = $1', [bob.id]))[0].first_name).toBe('Robert');
  await pair.resumeReplay();
  expect(await firstNameOf(bob)).toBe('Robert');
  await renameInSql(bob, 'Bob');
  await pair.resumeReplay();
});

it("reads a principal's own writes on the primary after its mutation, on every process", async () => {
  await replicaInUse();
  await pair.pauseReplay();
  const renamed = await server.graphql(RENAME, { id: bob.id, name: 'Bobby' }, { token: bob.token });
  // The mutation's own result is read on the primary.
  expect(renamed.data.updateUser.firstName).toBe('Bobby');
  expect(await firstNameOf(bob)).toBe('Bobby');
  // Another gateway process heard of the write and keeps Bob's reads on the primary too...
  expect(await firstNameOf(bob, second.url)).toBe('Bobby');
  // ...while a principal who did not write still reads the paused replica there.
  const seenByCarol = await graphqlRequest(second.url, USER, { id: bob.id }, { token: carol.token });
  expect(seenByCarol.data.user.firstName).toBe('Bob');
  await pair.resumeReplay();
  await server.graphql(RENAME, { id: bob.id, name: 'Bob' }, { token: bob.token });
  await pair.resumeReplay();
  await outOfWindow();
});

it('skips a replica lagging more than REPLICA_MAX_LAG, and uses it again once it catches up', async () => {
  await replicaInUse();
  await pair.pauseReplay();
  await renameInSql(bob, 'Current');
  await sleep(MAX_LAG_SECONDS * 1000 + 500);
  // The replica still has the old name, so this came from the primary.
  expect((await pair.replicaSql('SELECT first_name FROM users WHERE id = $1', [bob.id]))[0].first_name).toBe('Bob');
  expect(await firstNameOf(bob)).toBe('Current');
  expect(await firstNameOf(bob, second.url)).toBe('Current');
  await renameInSql(bob, 'Bob');
  await pair.resumeReplay();
  await replicaInUse();
});

it('checks credentials and permissions on the primary while data comes from the replica', async () => {
  const { accessToken: ownerToken } = await server.login();
  await replicaInUse();
  await pair.pauseReplay();
  await renameInSql(bob, 'Robert');
  // The owner deactivates Bob's membership and locks Carol; the paused replica has neither change.
  const deactivated = await server.graphql(
    'mutation ($orgId: ID!, $userId: ID!) { deactivate(orgId: $orgId, userId: $userId) { status } }',
    { orgId, userId: bob.id },
    { token: ownerToken },
  );
  expect(deactivated.errors).toBeUndefined();
  const locked = await server.graphql(
    'mutation ($userId: ID!) { lock(userId: $userId) { locked } }',
    { userId: carol.id },
    { token: ownerToken },
  );
  expect(locked.data.lock.locked).toBe(true);

  // Carol's token stops working at once, on both processes.
  expect(errorCode(await graphqlRequest(server.url, ME, {}, { token: carol.token }))).toBe('UNAUTHENTICATED');
  expect(errorCode(await graphqlRequest(second.url, ME, {}, { token: carol.token }))).toBe('UNAUTHENTICATED');
  // Bob's data is read on the replica (his old name), but his authority in the org on the primary,
  // where his membership is deactivated: the org is no longer his to see (NOT_FOUND, as for any
  // org he is not an active member of), let alone its members.
  const bobAsks = await graphqlRequest(
    server.url,
    'query ($orgId: ID!) { me { firstName } org(id: $orgId) { members(first: 5) { totalCount } } }',
    { orgId },
    { token: bob.token },
  );
  expect(bobAsks.data?.me?.firstName).toBe('Bob');
  expect(bobAsks.data?.org?.members ?? null).toBeNull();
  expect(bobAsks.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  await pair.resumeReplay();
  await renameInSql(bob, 'Bob');
  await pair.resumeReplay();
});

it('serves every request from the primary while the replica is down, and uses it again once it is up', async () => {
  await replicaInUse();
  await pair.replica.stop('immediate');
  let down = true;
  let late: TestGateway | null = null;
  try {
    for (const name of ['Down 1', 'Down 2', 'Down 3']) {
      await renameInSql(bob, name);
      expect(await firstNameOf(bob)).toBe(name);
      expect(await firstNameOf(bob, second.url)).toBe(name);
    }
    await sleep(1_000);
    expect(await firstNameOf(bob)).toBe('Down 3');
    // A gateway starts with its replica down, too.
    late = await startTestGateway(replicaEnv());
    expect(await firstNameOf(bob, late.url)).toBe('Down 3');
    await pair.replica.start();
    down = false;
    await renameInSql(bob, 'Bob');
    await pair.resumeReplay();
    await replicaInUse();
    await replicaInUse(late.url);
  } finally {
    await late?.close();
    if (down) await pair.replica.start();
  }
});
