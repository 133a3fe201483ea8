import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { person, type Person } from '../support/fixtures';
import type { GraphQLResponse } from '../support/graphql-client';
import { startEmbeddedTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * The embedded default under concurrent writers: PGlite behind a socket once interleaved the
 * protocol messages of concurrent connections and answered 58-68 % of such requests wrongly
 * (false UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, internal errors). Every answer here is checked,
 * and then the database is checked against the answers.
 */

const WRITERS = 20;
const ROUNDS = 6;

jest.setTimeout(180_000);

let dataDir: string;
let server: TestGateway;
let orgId: string;
let writers: Person[];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-embedded-writers-'));
  // A pool smaller than the writers, so connections are shared and requests queue for them.
  server = await startEmbeddedTestGateway(dataDir, { DATABASE_POOL_SIZE: '8' });
  [{ id: orgId }] = await server.sql(`SELECT id FROM orgs WHERE slug = 'acme'`);
  writers = [];
  for (let index = 0; index < WRITERS; index++) {
    writers.push(await person(server, `writer${index}`, { orgId, role: index % 2 ? 'admin' : 'editor' }));
  }
  const roles = await server.sql(`SELECT key, permissions FROM roles WHERE org_id = $1`, [orgId]);
  for (const { key, permissions } of roles.filter((role) => role.key === 'admin' || role.key === 'editor')) {
    if (!permissions.includes('teams:write')) throw new Error(`the ${key} role cannot write teams`);
  }
});

afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

type Outcome = { writer: number; round: number; teamId: string; name: string };

const CREATE = 'mutation ($input: CreateTeamInput!) { createTeam(input: $input) { id name } }';
const RENAME = 'mutation ($id: ID!, $name: String!) { updateTeam(id: $id, input: { name: $name }) { id name } }';
const ADD = 'mutation ($id: ID!, $userIds: [ID!]!) { addTeamMembers(teamId: $id, userIds: $userIds) { id } }';
const READ =
  'query ($id: ID!, $teamId: ID!) { me { id } org(id: $id) { teams(first: 1) { totalCount } } node(id: $teamId) { id } }';

function expectData(response: GraphQLResponse, what: string) {
  if (response.errors || !response.data) throw new Error(`${what}: ${JSON.stringify(response.errors)}`);
  return response.data;
}

async function writerLoop(writer: number): Promise<Outcome[]> {
  const { token, id: userId } = writers[writer];
  const outcomes: Outcome[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const created = await expectData(
      await server.graphql(CREATE, { input: { orgId, name: `w${writer} r${round}` } }, { token }),
      `createTeam by writer ${writer}`,
    );
    const teamId: string = created.createTeam.id;
    const name = `writer ${writer} round ${round} renamed`;
    const renamed = await expectData(await server.graphql(RENAME, { id: teamId, name }, { token }), 'updateTeam');
    expect(renamed.updateTeam).toEqual({ id: teamId, name });
    await expectData(await server.graphql(ADD, { id: teamId, userIds: [userId] }, { token }), 'addTeamMembers');
    const read = await expectData(await server.graphql(READ, { id: orgId, teamId }, { token }), 'read');
    expect(read.me.id).toBe(userId);
    expect(read.org.teams.totalCount).toBeGreaterThan(round);
    expect(read.node).toEqual({ id: teamId });
    outcomes.push({ writer, round, teamId, name });
  }
  return outcomes;
}

it(`serves ${WRITERS} concurrent writers with no wrong answer, and stores exactly what it answered`, async () => {
  const settled = await Promise.allSettled(writers.map((_, writer) => writerLoop(writer)));
  const failures = settled.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
  expect(failures).toEqual([]);
  const outcomes = settled.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
  expect(outcomes).toHaveLength(WRITERS * ROUNDS);

  const teams = await server.sql(
    `SELECT t.id, t.name, array_agg(m.user_id) AS members
       FROM teams t LEFT JOIN team_members m ON m.team_id = t.id
      WHERE t.org_id = $1 GROUP BY t.id, t.name`,
    [orgId],
  );
  const stored = new Map(teams.map((team) => [team.id, team]));
  expect(stored.size).toBe(WRITERS * ROUNDS);
  for (const outcome of outcomes) {
    expect(stored.get(outcome.teamId)).toEqual({
      id: outcome.teamId,
      name: outcome.name,
      members: [writers[outcome.writer].id],
    });
  }
  // One audit record per answered mutation, in one unbroken chain.
  const [{ count }] = await server.sql(
    `SELECT count(*)::int AS count FROM audit_logs WHERE org_id = $1 AND action LIKE 'team.%'`,
    [orgId],
  );
  expect(count).toBe(WRITERS * ROUNDS * 3);
  const verified = await server.graphql(
    'query ($orgId: ID!) { verifyAuditChain(orgId: $orgId) { valid } }',
    { orgId },
    { token: (await server.login()).accessToken },
  );
  expect(verified.data?.verifyAuditChain).toEqual({ valid: true });
});
