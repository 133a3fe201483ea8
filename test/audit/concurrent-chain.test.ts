import type { QueryRunner } from 'typeorm';
import { recordAudit } from '../../src/core/audit/audit';
import {
  addMember,
  createOrgAs,
  createUser,
  MEMBER_PASSWORD,
  person,
  uniqueEmail,
  type Person,
} from '../support/fixtures';
import { spawnSecondGateway } from '../support/second-gateway';
import { waitForHealthy, withTimeout, type SpawnedScript } from '../support/spawn-gateway';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * Audit writes do not serialise an org: writers append their records without a lock and one
 * chainer links them after commit. Shown on two gateway processes sharing one PostgreSQL, with a
 * writer of the org's chain holding its transaction open all along: under a chain lock every other
 * writer of that org would wait for it.
 */

const SIGN_INS = 50;
/** Enough sign-ins from one address for the storm; the limits are tested elsewhere. */
const LIMITS = { RATE_LIMIT_LOGIN_PER_IP: '1000/15m', LOGIN_SLOWDOWN_AFTER: '1000/15m' };
const LOGIN = 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }';
const VERIFY = 'query ($o: ID!) { verifyAuditChain(orgId: $o) { valid checked notYetChained reason } }';

let server: TestGateway;
let second: SpawnedScript;
let secondUrl: string;
let owner: Person;
let orgId: string;
let members: string[];

type ChainRow = { id: string; seq: string; chain_seq: string | null; prev_hash: string | null; hash: string | null };

function orgRecords(): Promise<ChainRow[]> {
  return server.sql(
    `SELECT id, seq::text AS seq, chain_seq::text AS chain_seq, prev_hash, hash
       FROM audit_logs WHERE org_id = $1 ORDER BY audit_logs.chain_seq NULLS LAST, audit_logs.seq`,
    [orgId],
  );
}

/** Waits, without linking anything itself, until the background chainers have linked every committed record. */
async function linkedWithin(limitMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const [{ pending }] = await server.sql('SELECT count(*)::int AS pending FROM audit_logs WHERE chain_seq IS NULL');
    if (pending === 0) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`${pending} records still unlinked after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A transaction of process A that appended an org record and stays open until told. */
async function heldOpenWriter(action: string): Promise<{ id: string; commit(): Promise<void> }> {
  const runner: QueryRunner = server.gateway.database.dataSource.createQueryRunner();
  await runner.startTransaction();
  await recordAudit(
    runner.manager,
    { actorId: owner.id, actorKind: 'HUMAN', apiKeyId: null, ipAddress: null, userAgent: null, requestId: null },
    { action, orgId, targetType: 'Org', targetId: orgId },
  );
  const [{ id }] = await runner.query('SELECT id FROM audit_logs WHERE action = $1', [action]);
  return {
    id: id as string,
    async commit() {
      await runner.commitTransaction();
      await runner.release();
    },
  };
}

function signIn(
  baseUrl: string,
  email: string,
): Promise<{ data?: { login?: { accessToken: string } }; errors?: unknown }> {
  return fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: LOGIN, variables: { e: email, p: MEMBER_PASSWORD } }),
  }).then((response) => response.json() as Promise<{ data?: { login?: { accessToken: string } }; errors?: unknown }>);
}

function verified() {
  return server
    .graphql(VERIFY, { o: orgId }, { token: owner.token })
    .then((response) => response.data.verifyAuditChain);
}

beforeAll(async () => {
  server = await startTestGateway(LIMITS);
  ({ spawned: second, url: secondUrl } = await spawnSecondGateway(server, { BCRYPT_COST: '4', ...LIMITS }));
  owner = await person(server, 'chain-owner');
  orgId = await createOrgAs(server, owner.token, 'Busy Org');
  members = [];
  for (let i = 0; i < SIGN_INS; i++) {
    const email = uniqueEmail(`storm${i}`);
    await addMember(server, orgId, await createUser(server, email), 'viewer');
    members.push(email);
  }
  await waitForHealthy(second, secondUrl);
}, 120_000);

afterAll(async () => {
  await second?.forceStop();
  await server?.close();
});

describe('audit writes of one org on two gateway processes', () => {
  it(`commit ${SIGN_INS} concurrent sign-ins while a writer of the org's chain holds its transaction open; the chain then verifies`, async () => {
    await linkedWithin(2_000);
    const before = (await orgRecords()).length;
    const held = await heldOpenWriter('test.held_open');

    const started = Date.now();
    const answers = await withTimeout(
      Promise.all(members.map((email, index) => signIn(index % 2 === 0 ? server.url : secondUrl, email))),
      30_000,
      () => 'sign-ins waited for the open transaction: audit writes of one org are serialised',
    );
    const stormMs = Date.now() - started;
    expect(answers.filter((answer) => !answer.data?.login?.accessToken)).toEqual([]);
    // Every sign-in committed its records while the other writer's transaction was still open.
    const [{ committed }] = await server.sql(
      `SELECT count(*)::int AS committed FROM audit_logs WHERE org_id = $1 AND action = 'session.login'`,
      [orgId],
    );
    expect(committed).toBe(SIGN_INS);

    await held.commit();
    const lagMs = await linkedWithin(2_000);
    console.info(
      `${SIGN_INS} sign-ins on two processes: ${stormMs} ms with a writer held open; linked ${lagMs} ms after the last commit`,
    );

    const records = await orgRecords();
    expect(records).toHaveLength(before + SIGN_INS + 1);
    // Gap-free and fork-free: positions increase, each record follows the one before it.
    records.forEach((record, index) => {
      expect(record.hash).not.toBeNull();
      if (index > 0) {
        expect(BigInt(record.chain_seq as string)).toBeGreaterThan(BigInt(records[index - 1].chain_seq as string));
        expect(record.prev_hash).toBe(records[index - 1].hash);
      }
    });
    expect(new Set(records.map((record) => record.hash)).size).toBe(records.length);
    // The account chain holds one sign-in record per member, each sharing its event with the org copy.
    const [{ accountCopies }] = await server.sql(
      `SELECT count(*)::int AS "accountCopies" FROM audit_logs a
        WHERE a.org_id IS NULL AND a.action = 'session.login' AND a.chain_seq IS NOT NULL
          AND EXISTS (SELECT 1 FROM audit_logs o WHERE o.event_id = a.event_id AND o.org_id = $1)`,
      [orgId],
    );
    expect(accountCopies).toBe(SIGN_INS);
    expect(await verified()).toEqual({ valid: true, checked: records.length, notYetChained: 0, reason: null });
    const account = await server.graphql(
      'query { verifyAuditChain { valid notYetChained } }',
      {},
      { token: (await server.login()).accessToken },
    );
    expect(account.data.verifyAuditChain).toEqual({ valid: true, notYetChained: 0 });
  });

  it('links a record that commits late exactly once, after those that committed before it', async () => {
    const held = await heldOpenWriter('test.committed_late');
    const lateId = held.id;
    // Process B writes to the org and its chainer links those records while A's transaction is open.
    for (const email of members.slice(0, 5)) expect((await signIn(secondUrl, email)).errors).toBeUndefined();
    await linkedWithin(2_000);
    const whileOpen = await orgRecords();
    expect(whileOpen.some((record) => record.id === lateId)).toBe(false);

    await held.commit();
    await linkedWithin(2_000);
    const records = await orgRecords();
    const late = records.filter((record) => record.id === lateId);
    expect(late).toHaveLength(1);
    // Inserted before the five sign-ins (a lower seq), linked after them: commit order.
    const lastBefore = whileOpen[whileOpen.length - 1];
    expect(BigInt(late[0].seq)).toBeLessThan(BigInt(lastBefore.seq));
    expect(records[records.length - 1].id).toBe(lateId);
    expect(late[0].prev_hash).toBe(lastBefore.hash);
    expect(await verified()).toEqual({ valid: true, checked: records.length, notYetChained: 0, reason: null });
  });
});
