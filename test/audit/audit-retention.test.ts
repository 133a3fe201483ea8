import { linkCommittedRecords } from '../../src/core/audit/chainer';
import { compactVerify, createLocalJWKSet, CompactSign, generateKeyPair, type JSONWebKeySet } from 'jose';
import { createOrgAs, person, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { gatewayEnv, runScript } from '../support/spawn-gateway';
import { startTestGateway, TEST_SECRET_KEY, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let owner: Person;
let orgId: string;

const VERIFY = `query ($orgId: ID!) {
  verifyAuditChain(orgId: $orgId) { valid checked firstInvalidId firstInvalidSeq reason }
}`;

const SET_RETENTION = `mutation ($orgId: ID!, $days: Int) {
  setAuditRetention(orgId: $orgId, days: $days) { id auditRetentionDays }
}`;

const PRUNE = `mutation ($orgId: ID!) {
  pruneAuditLogs(orgId: $orgId) {
    removed
    checkpoint { id throughSeq lastHash removedCount signature createdAt }
  }
}`;

type Checkpoint = { id: string; through_seq: string; last_hash: string; removed_count: number; signature: string };

async function data(query: string, variables: Record<string, unknown>, token = owner.token) {
  const response = await server.graphql(query, variables, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

const verify = async (org = orgId) => (await data(VERIFY, { orgId: org })).verifyAuditChain;

async function createRoles(org: string, count: number) {
  for (let i = 0; i < count; i++) {
    await data('mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }', {
      input: { orgId: org, name: `Role ${i}`, permissions: ['org:read'] },
    });
  }
}

/**
 * The org's records in chain order, linked first: tests read their hashes, and age them only once
 * linked, as a record past its retention is (the chainer hashes the content it finds).
 */
async function chain(org = orgId): Promise<Array<{ id: string; seq: string; action: string; hash: string }>> {
  await linkCommittedRecords(server.gateway.database.dataSource);
  return server.sql(
    'SELECT id, seq::text AS seq, action, hash FROM audit_logs WHERE org_id = $1 ORDER BY audit_logs.seq',
    [org],
  );
}

function checkpoints(org = orgId): Promise<Checkpoint[]> {
  return server.sql(
    `SELECT id, through_seq::text AS through_seq, last_hash, removed_count, signature
       FROM audit_checkpoints WHERE org_id = $1 ORDER BY through_seq`,
    [org],
  );
}

/** As someone who can switch the append-only guard off for one transaction. */
function tamper(text: string, params: unknown[]) {
  return server.gateway.database.dataSource.transaction(async (tx) => {
    await tx.query(`SET LOCAL portcullis.audit_retention = 'on'`);
    await tx.query(text, params);
  });
}

/**
 * Ages the first `count` records past any retention. Their hashes no longer match their content,
 * which only matters for records pruning then removes: the remainder still follows their stored hashes.
 */
async function backdate(org: string, count: number) {
  const ids = (await chain(org)).slice(0, count).map((record) => record.id);
  await tamper(`UPDATE audit_logs SET created_at = created_at - interval '30 days' WHERE id = ANY($1)`, [ids]);
}

async function gatewayKeys() {
  const response = await fetch(`${server.url}/.well-known/jwks.json`);
  return createLocalJWKSet((await response.json()) as JSONWebKeySet);
}

beforeAll(async () => {
  server = await startTestGateway();
  owner = await person(server, 'retained');
  orgId = await createOrgAs(server, owner.token, 'Retained Org');
});

afterAll(async () => {
  await server.close();
});

describe('audit retention', () => {
  it('sets and reads the retention, audited, within 1..3650 days', async () => {
    expect((await data(SET_RETENTION, { orgId, days: 1 })).setAuditRetention).toEqual({
      id: orgId,
      auditRetentionDays: 1,
    });
    const [record] = await server.sql(
      `SELECT changes FROM audit_logs WHERE org_id = $1 AND action = 'audit.retention_changed'`,
      [orgId],
    );
    expect(record.changes).toEqual({ before: { auditRetentionDays: null }, after: { auditRetentionDays: 1 } });
    for (const days of [0, 3651]) {
      expect(errorCode(await server.graphql(SET_RETENTION, { orgId, days }, { token: owner.token }))).toBe(
        'BAD_USER_INPUT',
      );
    }
    const read = await data('query ($id: ID!) { org(id: $id) { auditRetentionDays } }', { id: orgId });
    expect(read.org.auditRetentionDays).toBe(1);
  });

  it('removes nothing while no record is older than the retention', async () => {
    expect((await data(PRUNE, { orgId })).pruneAuditLogs).toEqual({ removed: 0, checkpoint: null });
    expect(await checkpoints()).toEqual([]);
  });

  it('removes the old records, leaves a signed checkpoint, and the remainder still verifies', async () => {
    await createRoles(orgId, 6);
    const before = await chain(); // org.created, audit.retention_changed, 6 roles
    expect(before).toHaveLength(8);
    await backdate(orgId, 5);

    const { removed, checkpoint } = (await data(PRUNE, { orgId })).pruneAuditLogs;
    expect(removed).toBe(5);
    expect(checkpoint).toMatchObject({ throughSeq: before[4].seq, lastHash: before[4].hash, removedCount: 5 });

    const [stored] = await checkpoints();
    expect(stored).toMatchObject({ id: checkpoint.id, through_seq: before[4].seq, last_hash: before[4].hash });
    const { payload, protectedHeader } = await compactVerify(stored.signature, await gatewayKeys());
    expect(protectedHeader.alg).toBe('ES256');
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({
      orgId,
      throughSeq: before[4].seq,
      lastHash: before[4].hash,
      removedCount: 5,
      createdAt: checkpoint.createdAt,
    });

    // The prune's own record follows the checkpoint, on the same chain.
    const after = await chain();
    expect(after.map((record) => record.id)).toEqual([...before.slice(5).map((record) => record.id), after[3].id]);
    expect(after[3].action).toBe('audit.pruned');
    expect(await verify()).toEqual({
      valid: true,
      checked: 4,
      firstInvalidId: null,
      firstInvalidSeq: null,
      reason: null,
    });

    const script = await runScript(
      'src/cli.ts',
      ['audit', 'verify', '--org', orgId],
      gatewayEnv({ DATABASE_URL: server.databaseUrl, SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'silent' }),
    );
    expect(script.code).toBe(0);
    expect(JSON.parse(script.stdout)).toMatchObject({ valid: true, checked: 4 });
  });

  it('rejects a checkpoint whose fields or signature were edited', async () => {
    const [original] = await checkpoints();
    const invalid = { valid: false, checked: 0, reason: expect.stringMatching(/^checkpoint/) };

    await server.sql('UPDATE audit_checkpoints SET last_hash = $2 WHERE id = $1', [original.id, 'f'.repeat(64)]);
    expect(await verify()).toMatchObject(invalid);
    await server.sql('UPDATE audit_checkpoints SET removed_count = 1 WHERE id = $1', [original.id]);
    await server.sql('UPDATE audit_checkpoints SET last_hash = $2 WHERE id = $1', [original.id, original.last_hash]);
    expect(await verify()).toMatchObject(invalid);

    // Well-formed, over the right fields, but signed with someone else's key under the gateway's kid.
    const { privateKey } = await generateKeyPair('ES256');
    const [header, payload] = original.signature.split('.');
    const forged = await new CompactSign(Buffer.from(payload, 'base64url'))
      .setProtectedHeader(JSON.parse(Buffer.from(header, 'base64url').toString()))
      .sign(privateKey);
    await server.sql('UPDATE audit_checkpoints SET removed_count = $2, signature = $3 WHERE id = $1', [
      original.id,
      original.removed_count,
      forged,
    ]);
    expect(await verify()).toMatchObject(invalid);

    await server.sql('UPDATE audit_checkpoints SET signature = $2 WHERE id = $1', [original.id, original.signature]);
    expect((await verify()).valid).toBe(true);
  });

  it('still names the record after one deleted from the remainder, or all of them after a deleted checkpoint', async () => {
    const records = await chain();
    await tamper('DELETE FROM audit_logs WHERE id = $1', [records[1].id]);
    expect(await verify()).toMatchObject({
      valid: false,
      firstInvalidId: records[2].id,
      reason: expect.stringContaining('removed'),
    });
    await server.sql('DELETE FROM audit_checkpoints WHERE org_id = $1', [orgId]);
    expect(await verify()).toMatchObject({ valid: false, checked: 1, firstInvalidId: records[0].id });
  });

  it('needs audit:read and org:update in the org', async () => {
    const viewer = await person(server, 'retention-viewer', { orgId, role: 'viewer' });
    const outsider = await person(server, 'retention-outsider');
    for (const [query, variables] of [
      [PRUNE, { orgId }],
      [SET_RETENTION, { orgId, days: 7 }],
    ] as const) {
      expect(errorCode(await server.graphql(query, variables, { token: viewer.token }))).toBe('FORBIDDEN');
      expect(errorCode(await server.graphql(query, variables, { token: outsider.token }))).toBe('NOT_FOUND');
    }
    const read = await server.graphql(
      'query ($id: ID!) { org(id: $id) { name auditRetentionDays } }',
      { id: orgId },
      {
        token: viewer.token,
      },
    );
    expect(errorCode(read)).toBe('FORBIDDEN');
    expect(read.data?.org).toEqual({ name: 'Retained Org', auditRetentionDays: null });
  });

  it('prunes every org with a retention from `npm run audit:prune`, keeping at least the newest record', async () => {
    const other = await createOrgAs(server, owner.token, 'Pruned By Script');
    await createRoles(other, 3);
    await data(SET_RETENTION, { orgId: other, days: 30 });
    const before = await chain(other);
    await backdate(other, before.length);

    const script = await runScript(
      'src/cli.ts',
      ['audit', 'prune'],
      gatewayEnv({ DATABASE_URL: server.databaseUrl, SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'silent' }),
    );
    expect(script.code).toBe(0);
    const lines = script.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toContainEqual({ orgId: other, removed: before.length - 1, checkpointId: expect.any(String) });

    const after = await chain(other);
    expect(after.map((record) => record.action)).toEqual(['audit.retention_changed', 'audit.pruned']);
    expect(after[0].id).toBe(before.at(-1)!.id);
    expect(await server.sql(`SELECT actor_kind FROM audit_logs WHERE id = $1`, [after[1].id])).toEqual([
      { actor_kind: 'SYSTEM' },
    ]);
    // Undoing the kept record's backdating makes its hash hold again: the chain follows the checkpoint.
    await tamper(`UPDATE audit_logs SET created_at = created_at + interval '30 days' WHERE id = $1`, [after[0].id]);
    expect(await verify(other)).toMatchObject({ valid: true, checked: 2 });
  });
});
