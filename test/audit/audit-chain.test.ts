import { linkCommittedRecords } from '../../src/core/audit/chainer';
import { whileCommitsFail } from '../support/fail-at-commit';
import { createOrgAs, person, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { gatewayEnv, runScript } from '../support/spawn-gateway';
import { startTestGateway, TEST_SECRET_KEY, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let owner: Person;
let orgId: string;

const VERIFY = `query ($orgId: ID!) {
  verifyAuditChain(orgId: $orgId) { valid checked firstInvalidId firstInvalidSeq reason notYetChained }
}`;

async function verify(token = owner.token) {
  const response = await server.graphql(VERIFY, { orgId }, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.verifyAuditChain;
}

function createRole(name: string) {
  return server.graphql(
    'mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }',
    { input: { orgId, name, permissions: ['org:read'] } },
    { token: owner.token },
  );
}

/** The org's records in chain order, once every committed one is linked. */
async function chain(): Promise<
  Array<{ id: string; seq: string; chain_seq: string; prev_hash: string | null; hash: string }>
> {
  await linkCommittedRecords(server.gateway.database.dataSource);
  return server.sql(
    `SELECT id, seq::text AS seq, chain_seq::text AS chain_seq, prev_hash, hash
       FROM audit_logs WHERE org_id = $1 ORDER BY audit_logs.chain_seq`,
    [orgId],
  );
}

/** Tampering as a database superuser, as an intruder with full access (or an auditor's test) would. */
function tamper(text: string, params: unknown[]) {
  return server.sql(text, params);
}

function runVerifier(org: string) {
  return runScript(
    'src/cli.ts',
    ['audit', 'verify', '--org', org],
    gatewayEnv({ DATABASE_URL: server.databaseUrl, SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'silent' }),
  );
}

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'chained');
  orgId = await createOrgAs(server, owner.token, 'Chained Org');
});

afterAll(async () => {
  await server.close();
});

describe('the audit hash chain', () => {
  it('leaves no record, and no gap in the chain, when a mutation fails after writing its record', async () => {
    const failed = await whileCommitsFail(server, 'roles', () => createRole('Rolled Back'));
    expect(errorCode(failed)).toBe('INTERNAL_SERVER_ERROR');
    expect(await server.sql(`SELECT 1 FROM audit_logs WHERE changes::text LIKE '%Rolled Back%'`)).toEqual([]);
    expect((await createRole('Committed')).errors).toBeUndefined();
    expect(await verify()).toMatchObject({ valid: true, checked: 2, firstInvalidId: null });
  });

  it('stays one unbroken chain under 50 concurrent mutations in one org', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => createRole(`Concurrent ${i}`)));
    expect(responses.filter((response) => response.errors)).toEqual([]);
    const records = await chain();
    expect(records).toHaveLength(52);
    // No fork: each record follows exactly the one before it in chain order.
    records.forEach((record, index) => expect(record.prev_hash).toBe(index === 0 ? null : records[index - 1].hash));
    expect(await verify()).toEqual({
      valid: true,
      checked: 52,
      firstInvalidId: null,
      firstInvalidSeq: null,
      reason: null,
      notYetChained: 0,
    });
  });

  it('refuses UPDATE and DELETE on audit_logs to a non-superuser role unless a retention transaction opts in', async () => {
    await server.sql(
      `DO $$ BEGIN CREATE ROLE portcullis_app_test NOSUPERUSER; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    );
    await server.sql('GRANT SELECT, INSERT, UPDATE, DELETE ON audit_logs TO portcullis_app_test');
    const asApp = (statement: string) =>
      server.gateway.database.dataSource.transaction(async (tx) => {
        await tx.query('SET LOCAL ROLE portcullis_app_test');
        await tx.query(statement);
      });
    await expect(asApp(`UPDATE audit_logs SET action = 'forged'`)).rejects.toThrow(/append-only/);
    await expect(asApp('DELETE FROM audit_logs')).rejects.toThrow(/append-only/);
    // The chainer's update, and only it: an unlinked record gets its place and hashes, nothing else.
    await expect(asApp(`UPDATE audit_logs SET hash = 'forged' WHERE org_id = '${orgId}'`)).rejects.toThrow(
      /append-only/,
    );
    // In one transaction, rolled back: a committed record could be linked by the chainer meanwhile.
    const chaining = (assignments: string) =>
      server.gateway.database.dataSource.transaction(async (tx) => {
        await tx.query('SET LOCAL ROLE portcullis_app_test');
        const [{ id }] = await tx.query(
          `INSERT INTO audit_logs (org_id, actor_kind, action, created_at)
           VALUES ($1, 'SYSTEM', 'test.unlinked', now()) RETURNING id`,
          [orgId],
        );
        await tx.query(`UPDATE audit_logs SET ${assignments} WHERE id = $1`, [id]);
        throw new Error('rolled back');
      });
    await expect(chaining(`chain_seq = -1, hash = 'h', action = 'forged'`)).rejects.toThrow(/append-only/);
    await expect(chaining(`chain_seq = -1, hash = 'h', prev_hash = 'p'`)).rejects.toThrow('rolled back');
    expect(await verify()).toMatchObject({ valid: true, checked: 52 });
  });

  it('names the first altered record when changes are edited in SQL', async () => {
    const target = (await chain())[10];
    const [{ changes }] = await server.sql('SELECT changes FROM audit_logs WHERE id = $1', [target.id]);
    await tamper(`UPDATE audit_logs SET changes = '{"name": "forged"}' WHERE id = $1`, [target.id]);
    expect(await verify()).toMatchObject({
      valid: false,
      checked: 11,
      firstInvalidId: target.id,
      firstInvalidSeq: target.seq,
      reason: expect.stringContaining('altered'),
    });
    const script = await runVerifier(orgId);
    expect(script.code).toBe(1);
    expect(JSON.parse(script.stdout)).toMatchObject({ valid: false, firstInvalidId: target.id });

    // The original content, key order aside, verifies again: the hash covers meaning, not layout.
    await tamper('UPDATE audit_logs SET changes = $2::jsonb WHERE id = $1', [target.id, JSON.stringify(changes)]);
    expect((await verify()).valid).toBe(true);
    const clean = await runVerifier(orgId);
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ orgId, valid: true, checked: 52 });
  });

  it('names the record after a deleted one, and a chain whose first records were removed', async () => {
    const records = await chain();
    await tamper('DELETE FROM audit_logs WHERE id = $1', [records[20].id]);
    expect(await verify()).toMatchObject({
      valid: false,
      firstInvalidId: records[21].id,
      firstInvalidSeq: records[21].seq,
      reason: expect.stringContaining('removed'),
    });
    await tamper('DELETE FROM audit_logs WHERE org_id = $1 AND chain_seq <= $2', [orgId, records[20].chain_seq]);
    expect(await verify()).toMatchObject({ valid: false, checked: 1, firstInvalidId: records[21].id });
  });

  it('is readable only with audit:read in the org', async () => {
    const viewer = await person(server, 'chain-viewer', { orgId, role: 'viewer' });
    expect(errorCode(await server.graphql(VERIFY, { orgId }, { token: viewer.token }))).toBe('FORBIDDEN');
    const outsider = await person(server, 'chain-outsider');
    expect(errorCode(await server.graphql(VERIFY, { orgId }, { token: outsider.token }))).toBe('NOT_FOUND');
  });
});
