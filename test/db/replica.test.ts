import { createUser, MEMBER_PASSWORD, person, roleId, uniqueEmail, type Person } from '../support/fixtures';
import { errorCode, graphqlRequest } from '../support/graphql-client';
import { loadConfig } from '../../src/core/config/config';
import { ReplicaSet } from '../../src/core/db/replica-set';
import { SqlStatementCounter } from '../../src/core/db/sql-statement-counter';
import { createLogger } from '../../src/core/logger';
import { startPgbouncer } from '../support/pgbouncer';
import { createStreamingPair, until, type StreamingPair } from '../support/replica';
import { spawnSecondGateway, type SecondGateway } from '../support/second-gateway';
import { freePort, waitForHealthy } from '../support/spawn-gateway';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * A gateway on a private primary with a streaming replica of it. A replica serves only the
 * opted-in lists (member, team and group pages); whether a read came from it shows in what it
 * returns: with the replica's replay paused, a row changed on the primary meanwhile reads old there
 * and new on the primary.
 */

jest.setTimeout(120_000);

const MAX_LAG_SECONDS = 2;
const WINDOW_SECONDS = 3;

let pair: StreamingPair;
let server: TestGateway;
let second: SecondGateway;
let orgId: string;
let ownerToken: string;
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
const LISTED = `query ($orgId: ID!, $search: String!) {
  users(orgId: $orgId, filter: { search: $search }) { edges { node { firstName } } }
}`;

async function firstNameOf(who: Person, url = server.url): Promise<string> {
  const response = await graphqlRequest(url, ME, {}, { token: who.token });
  if (!response.data?.me) throw new Error(`me failed: ${JSON.stringify(response.errors)}`);
  return response.data.me.firstName;
}

/** The first name the org's member page shows for `target`, as `reader` asks for it. */
async function listedName(target: Person, reader: Person = carol, url = server.url): Promise<string> {
  const response = await graphqlRequest(url, LISTED, { orgId, search: target.email }, { token: reader.token });
  const edges = response.data?.users?.edges;
  if (response.errors || edges?.length !== 1) throw new Error(`users failed: ${JSON.stringify(response)}`);
  return edges[0].node.firstName;
}

/** Renames on the primary behind the gateway's back: no mutation, so no read-your-writes window. */
async function renameInSql(who: Person, name: string): Promise<void> {
  await server.sql('UPDATE users SET first_name = $1 WHERE id = $2', [name, who.id]);
}

/** Waits until the replica serves Carol's member pages: with replay paused, a rename meanwhile reads stale. */
async function replicaInUse(url = server.url): Promise<void> {
  await until(async () => {
    await pair.pauseReplay();
    try {
      await renameInSql(bob, 'Probe');
      return (await listedName(bob, carol, url)) === 'Bob';
    } finally {
      await renameInSql(bob, 'Bob');
      await pair.resumeReplay();
    }
  }, 'the replica serving reads');
}

beforeAll(async () => {
  pair = await createStreamingPair();
  server = await startTestGateway(replicaEnv());
  ownerToken = (await server.login()).accessToken;
  orgId = (await server.graphql('{ me { memberships { org { id } } } }', {}, { token: ownerToken })).data.me
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

it('serves member pages from the replica, and nothing else', async () => {
  await replicaInUse();
  await pair.pauseReplay();
  await renameInSql(bob, 'Robert');
  expect(await listedName(bob)).toBe('Bob');
  // The replica really is behind: the primary has the new name.
  expect((await server.sql('SELECT first_name FROM users WHERE id = $1', [bob.id]))[0].first_name).toBe('Robert');
  // Reads that were not opted in — a node, the caller's own profile — are the primary's.
  expect((await graphqlRequest(server.url, USER, { id: bob.id }, { token: carol.token })).data.user.firstName).toBe(
    'Robert',
  );
  expect(await firstNameOf(bob)).toBe('Robert');
  await pair.resumeReplay();
  expect(await listedName(bob)).toBe('Robert');
  await renameInSql(bob, 'Bob');
  await pair.resumeReplay();
});

it("reads a principal's own writes on the primary after its mutation, on every process", async () => {
  await replicaInUse();
  await pair.pauseReplay();
  const renamed = await server.graphql(RENAME, { id: bob.id, name: 'Bobby' }, { token: bob.token });
  // The mutation's own result is read on the primary.
  expect(renamed.data.updateUser.firstName).toBe('Bobby');
  expect(await listedName(bob, bob)).toBe('Bobby');
  // Another gateway process heard of the write and keeps Bob's reads on the primary too...
  expect(await listedName(bob, bob, second.url)).toBe('Bobby');
  // ...while a principal who did not write still reads the paused replica there.
  expect(await listedName(bob, carol, second.url)).toBe('Bob');
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
  expect(await listedName(bob)).toBe('Current');
  expect(await listedName(bob, carol, second.url)).toBe('Current');
  await renameInSql(bob, 'Bob');
  await pair.resumeReplay();
  await replicaInUse();
});

it("serves team and group lists from the replica, each item's data from the primary", async () => {
  const team = await server.graphql(
    'mutation ($orgId: ID!) { createTeam(input: { orgId: $orgId, name: "Platform" }) { id } }',
    { orgId },
    { token: ownerToken },
  );
  const group = await server.graphql(
    'mutation ($orgId: ID!) { createGroup(input: { orgId: $orgId, name: "Operators" }) { id } }',
    { orgId },
    { token: ownerToken },
  );
  const LISTS = `query ($orgId: ID!) { org(id: $orgId) {
    teams { edges { node { name members { edges { node { firstName } } } } } }
    groups { edges { node { name members { edges { node { firstName } } } } } }
  } }`;
  const lists = async () => {
    const response = await graphqlRequest(server.url, LISTS, { orgId }, { token: carol.token });
    if (response.errors) throw new Error(JSON.stringify(response.errors));
    const { teams, groups } = response.data.org;
    const named = (connection: any) =>
      connection.edges.map(({ node }: any) => [node.name, node.members.edges.map((edge: any) => edge.node.firstName)]);
    return { teams: named(teams), groups: named(groups) };
  };
  await replicaInUse();
  await pair.pauseReplay();
  await server.sql('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)', [team.data.createTeam.id, bob.id]);
  await server.sql('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [
    group.data.createGroup.id,
    bob.id,
  ]);
  await server.sql("UPDATE teams SET name = 'Platform team' WHERE id = $1", [team.data.createTeam.id]);
  // Who is in them comes from the paused replica; each team's own fields from the primary.
  expect(await lists()).toEqual({ teams: [['Platform team', []]], groups: [['Operators', []]] });
  await pair.resumeReplay();
  expect(await lists()).toEqual({ teams: [['Platform team', ['Bob']]], groups: [['Operators', ['Bob']]] });
});

it('refuses a revoked resource grant at once, in node(id) and in the org.resources list', async () => {
  const email = uniqueEmail('customer');
  const customerId = await createUser(server, email, { kind: 'CUSTOMER' });
  await server.sql('INSERT INTO memberships (org_id, user_id, role_id) VALUES ($1, $2, $3)', [
    orgId,
    customerId,
    await roleId(server, orgId, 'viewer'),
  ]);
  const customer = (await server.login(email, MEMBER_PASSWORD, orgId)).accessToken;
  const created = await server.graphql(
    'mutation ($orgId: ID!) { createResource(input: { orgId: $orgId, name: "billing-api" }) { id } }',
    { orgId },
    { token: ownerToken },
  );
  const resourceId = created.data.createResource.id;
  const granted = await server.graphql(
    'mutation ($r: ID!, $p: ID!) { grantAccess(resourceId: $r, principalId: $p, level: READ) { id } }',
    { r: resourceId, p: customerId },
    { token: ownerToken },
  );
  const grantId = granted.data.grantAccess.id;
  const NODE = 'query ($id: ID!) { node(id: $id) { ... on Resource { name } } }';
  const LIST = 'query ($orgId: ID!) { org(id: $orgId) { resources(first: 10) { edges { node { name } } } } }';
  const listed = async () =>
    (await graphqlRequest(server.url, LIST, { orgId }, { token: customer })).data?.org?.resources?.edges.map(
      (edge: { node: { name: string } }) => edge.node.name,
    );
  await outOfWindow();
  await replicaInUse();
  expect((await graphqlRequest(server.url, NODE, { id: resourceId }, { token: customer })).data.node.name).toBe(
    'billing-api',
  );
  expect(await listed()).toEqual(['billing-api']);

  await pair.pauseReplay();
  const revoked = await server.graphql(
    'mutation ($g: ID!) { revokeAccess(grantId: $g) }',
    { g: grantId },
    {
      token: ownerToken,
    },
  );
  expect(revoked.errors).toBeUndefined();
  // The paused replica still holds the grant; the customer, who wrote nothing, is refused at once.
  expect(await pair.replicaSql('SELECT 1 FROM access_grants WHERE id = $1', [grantId])).toHaveLength(1);
  const node = await graphqlRequest(server.url, NODE, { id: resourceId }, { token: customer });
  expect(node.data?.node ?? null).toBeNull();
  expect(await listed()).toEqual([]);
  const onSecond = await graphqlRequest(second.url, NODE, { id: resourceId }, { token: customer });
  expect(onSecond.data?.node ?? null).toBeNull();
  await pair.resumeReplay();
});

it("hides a removed member's profile at once, while member pages may list them until the replica catches up", async () => {
  const alice = await person(server, 'Alice', { orgId, role: 'viewer' });
  await outOfWindow();
  await replicaInUse();
  expect((await graphqlRequest(server.url, USER, { id: alice.id }, { token: bob.token })).data.user.firstName).toBe(
    'Alice',
  );

  await pair.pauseReplay();
  const removed = await server.graphql(
    'mutation ($orgId: ID!, $userId: ID!) { removeMember(orgId: $orgId, userId: $userId) }',
    { orgId, userId: alice.id },
    { token: ownerToken },
  );
  expect(removed.data.removeMember).toBe(true);
  // Visibility is decided on the primary: Alice shares no org with Bob any more.
  const profile = await graphqlRequest(server.url, USER, { id: alice.id }, { token: bob.token });
  expect(profile.data?.user ?? null).toBeNull();
  expect(errorCode(profile)).toBe('NOT_FOUND');
  // The member page is data, and may lag by up to REPLICA_MAX_LAG: Bob's still lists her
  // membership, but her profile's fields keep their own rule, decided on the primary.
  const PAGE = `query ($orgId: ID!, $search: String!) {
    org(id: $orgId) { members(filter: { search: $search }) { edges { node { status user { firstName } } } } }
  }`;
  const page = await graphqlRequest(server.url, PAGE, { orgId, search: alice.email }, { token: bob.token });
  expect(page.data.org.members.edges).toEqual([{ node: { status: 'ACTIVE', user: { firstName: null } } }]);
  expect(page.errors).toEqual([
    expect.objectContaining({ path: ['org', 'members', 'edges', 0, 'node', 'user', 'firstName'] }),
  ]);
  expect(errorCode(page)).toBe('NOT_FOUND');
  // The owner removed her: their own reads are in their read-your-writes window, on the primary.
  const ownersPage = await graphqlRequest(server.url, PAGE, { orgId, search: alice.email }, { token: ownerToken });
  expect(ownersPage.data.org.members.edges).toEqual([]);
  await pair.resumeReplay();
  const caughtUp = await graphqlRequest(server.url, PAGE, { orgId, search: alice.email }, { token: bob.token });
  expect(caughtUp.data.org.members.edges).toEqual([]);
});

it('serves every request from the primary while the replica is down, and uses it again once it is up', async () => {
  await replicaInUse();
  await pair.replica.stop('immediate');
  let down = true;
  let late: TestGateway | null = null;
  try {
    for (const name of ['Down 1', 'Down 2', 'Down 3']) {
      await renameInSql(bob, name);
      expect(await listedName(bob)).toBe(name);
      expect(await listedName(bob, carol, second.url)).toBe(name);
    }
    await sleep(1_000);
    expect(await listedName(bob)).toBe('Down 3');
    // A gateway starts with its replica down, too.
    late = await startTestGateway(replicaEnv());
    expect(await listedName(bob, carol, late.url)).toBe('Down 3');
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

it('fails none of the member pages being read on a replica when it stops', async () => {
  await replicaInUse();
  await replicaInUse(second.url);
  let reading = true;
  const failures: string[] = [];
  let read = 0;
  const readers = [server.url, second.url]
    .flatMap((url) => Array.from({ length: 6 }, () => url))
    .map(async (url) => {
      while (reading) {
        await listedName(bob, carol, url).then(
          () => (read += 1),
          (error: unknown) => failures.push(String(error).slice(0, 300)),
        );
      }
    });
  let down = false;
  try {
    await sleep(500);
    // A fast shutdown ends the replica's sessions, reads running on them included.
    await pair.replica.stop('fast');
    down = true;
    await sleep(1_500);
    reading = false;
    await Promise.all(readers);
    expect(failures).toEqual([]);
    expect(read).toBeGreaterThan(10);
  } finally {
    reading = false;
    if (down) await pair.replica.start();
  }
  await replicaInUse();
});

it('uses a replica reached through pgbouncer in transaction mode', async () => {
  const bouncer = await startPgbouncer({ serverPort: pair.replica.port });
  let pooled: TestGateway | null = null;
  try {
    pooled = await startTestGateway({ ...replicaEnv(), DATABASE_REPLICA_URLS: bouncer.url('portcullis') });
    await replicaInUse(pooled.url);
  } finally {
    await pooled?.close();
    await bouncer.destroy();
  }
});

it('logs why a replica is skipped by its error code, never by its URL', async () => {
  const port = await freePort();
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
  const config = loadConfig({
    DATABASE_URL: pair.primaryUrl,
    SECRET_KEY: 'a-secret-key-of-at-least-32-characters',
    DATABASE_REPLICA_URLS: `postgres://postgres:hunter2-secret@127.0.0.1:${port}/portcullis`,
  });
  const replicas = ReplicaSet.open(config, server.gateway.database.dataSource, new SqlStatementCounter(), logger);
  try {
    await until(async () => lines.some((line) => line.includes('read replica skipped')), 'a skipped replica logged');
  } finally {
    await replicas.close();
  }
  const skipped = JSON.parse(lines.find((line) => line.includes('read replica skipped'))!);
  expect(skipped).toMatchObject({ level: 40, replica: 1, reason: 'ECONNREFUSED' });
  expect(lines.join('\n')).not.toMatch(new RegExp(`hunter2|${port}`));
});

// Last: Bob's membership stays deactivated and Carol locked.
it('checks credentials and permissions on the primary while member pages come from the replica', async () => {
  await replicaInUse();
  await pair.pauseReplay();
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
  // Bob's membership is still active on the replica, but his authority in the org is read on the
  // primary, where it is deactivated: the org is no longer his to see (NOT_FOUND, as for any org
  // he is not an active member of), let alone its members.
  for (const url of [server.url, second.url]) {
    const bobAsks = await graphqlRequest(
      url,
      'query ($orgId: ID!) { org(id: $orgId) { members(first: 5) { totalCount } } }',
      { orgId },
      { token: bob.token },
    );
    expect(bobAsks.data?.org?.members ?? null).toBeNull();
    expect(bobAsks.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  }
  expect(
    (await pair.replicaSql('SELECT status FROM memberships WHERE user_id = $1 AND org_id = $2', [bob.id, orgId]))[0]
      .status,
  ).toBe('ACTIVE');
  await pair.resumeReplay();
});
