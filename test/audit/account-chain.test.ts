import { recordAudit } from '../../src/core/audit/audit';
import { linkCommittedRecords } from '../../src/core/audit/chainer';
import { insertCheckpoint } from '../../src/core/audit/checkpoint';
import { verifyAuditChain } from '../../src/core/audit/verify-chain';
import { createOrgAs, person, type Person } from '../support/fixtures';
import { errorCode } from '../support/graphql-client';
import { withOpenedChanges } from '../support/audit-changes';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * The account-level chain: records without an org (sign-ins of people in no org, failed sign-ins,
 * profile changes). Only super users may verify it; an API key never can, whoever owns it.
 */

let server: TestGateway;
let superUser: { token: string; id: string };
let acmeId: string;
let orgOwner: Person;
let ownedOrgId: string;

const VERIFY = `query ($orgId: ID) {
  verifyAuditChain(orgId: $orgId) { valid checked firstInvalidId firstInvalidSeq reason notYetChained }
}`;
const VERIFY_WITHOUT_ORG = `query { verifyAuditChain { valid checked firstInvalidId firstInvalidSeq reason notYetChained } }`;

async function verify(token: string, orgId: string | null = null) {
  const response = await server.graphql(VERIFY, { orgId }, { token });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data.verifyAuditChain;
}

/** The account-level records in chain order, once every committed one is linked. */
async function accountChain(): Promise<
  Array<{ id: string; seq: string; chain_seq: string; changes: unknown; hash: string }>
> {
  await linkCommittedRecords(server.gateway.database.dataSource);
  return server.sql(
    `SELECT id, seq::text AS seq, chain_seq::text AS chain_seq, changes, hash
       FROM audit_logs WHERE org_id IS NULL ORDER BY audit_logs.chain_seq`,
  );
}

/** Tampering as a database superuser, as an intruder with full access would (the trigger exempts superusers). */
function tamper(text: string, params: unknown[]) {
  return server.sql(text, params);
}

async function failedSignIn(email: string) {
  const response = await server.graphql(
    'mutation ($e: String!) { login(email: $e, password: "wrong password") { accessToken } }',
    {
      e: email,
    },
  );
  expect(errorCode(response)).toBe('UNAUTHENTICATED');
}

beforeAll(async () => {
  server = await startTestGateway();
  const signedIn = await server.login();
  superUser = { token: signedIn.accessToken, id: signedIn.userId };
  [{ id: acmeId }] = await server.sql(`SELECT id FROM orgs WHERE slug = 'acme'`);
  // People in no org sign in at account level; so do failed attempts and profile changes.
  orgOwner = await person(server, 'account-owner');
  ownedOrgId = await createOrgAs(server, orgOwner.token, 'Owned Org');
  for (const name of ['one', 'two', 'three']) await person(server, `account-${name}`);
  await failedSignIn('nobody@example.com');
  await failedSignIn(orgOwner.email);
  const renamed = await server.graphql(
    'mutation ($id: ID!) { updateUser(id: $id, input: { firstName: "Zoë 😀" }) { id } }',
    { id: orgOwner.id },
    { token: orgOwner.token },
  );
  expect(renamed.errors).toBeUndefined();
});

afterAll(async () => {
  await server.close();
});

describe('verifyAuditChain without an org', () => {
  it('lets a super user verify the account-level chain, null or absent orgId alike', async () => {
    const records = await accountChain();
    expect(records.length).toBeGreaterThanOrEqual(7);
    // Names are stored sealed (personal data); opened, the profile change is there.
    const opened = await withOpenedChanges(server, records as Array<{ changes: Record<string, unknown> | null }>);
    expect(opened.some((record) => JSON.stringify(record.changes).includes('Zoë 😀'))).toBe(true);
    const expected = {
      valid: true,
      checked: records.length,
      firstInvalidId: null,
      firstInvalidSeq: null,
      reason: null,
      notYetChained: 0,
    };
    expect(await verify(superUser.token)).toEqual(expected);
    const absent = await server.graphql(VERIFY_WITHOUT_ORG, {}, { token: superUser.token });
    expect(absent.data.verifyAuditChain).toEqual(expected);
    // The service function the CLI calls gives the same answer.
    const { dataSource } = server.gateway.database;
    expect(await verifyAuditChain(dataSource, null, server.gateway.services.signingKeys)).toEqual(expected);
  });

  it('refuses everyone else: an org owner who is no super user, an API key (even a super user’s), no credential', async () => {
    expect(errorCode(await server.graphql(VERIFY, { orgId: null }, { token: orgOwner.token }))).toBe('FORBIDDEN');
    expect(errorCode(await server.graphql(VERIFY_WITHOUT_ORG, {}, { token: orgOwner.token }))).toBe('FORBIDDEN');
    // The same caller may verify the chain of the org it owns.
    expect((await verify(orgOwner.token, ownedOrgId)).valid).toBe(true);

    const key = await server.graphql(
      'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
      { input: { ownerId: superUser.id, orgId: acmeId, name: 'auditor', scopes: ['audit:read'] } },
      { token: superUser.token },
    );
    const keyToken: string = key.data.createKey.token;
    expect((await verify(keyToken, acmeId)).valid).toBe(true);
    expect(errorCode(await server.graphql(VERIFY, { orgId: null }, { token: keyToken }))).toBe('FORBIDDEN');
    expect(errorCode(await server.graphql(VERIFY_WITHOUT_ORG, {}, { token: keyToken }))).toBe('FORBIDDEN');

    expect(errorCode(await server.graphql(VERIFY_WITHOUT_ORG, {}))).toBe('UNAUTHENTICATED');
  });

  it('never writes a record whose hash could not hold: a lone surrogate is refused before anything is stored', async () => {
    const before = await accountChain();
    const write = server.gateway.database.dataSource.transaction((tx) =>
      recordAudit(
        tx,
        {
          actorId: null,
          actorKind: 'ANONYMOUS',
          apiKeyId: null,
          ipAddress: null,
          userAgent: 'x\ud800',
          requestId: null,
        },
        { action: 'test.lone_surrogate' },
      ),
    );
    await expect(write).rejects.toThrow(/lone surrogate/);
    expect(await accountChain()).toEqual(before);
    expect((await verify(superUser.token)).valid).toBe(true);
  });

  it('names an altered account-level record, and holds again once it is restored', async () => {
    const records = await accountChain();
    const target = records[3];
    await tamper(`UPDATE audit_logs SET changes = '{"forged": true}' WHERE id = $1`, [target.id]);
    expect(await verify(superUser.token)).toEqual({
      valid: false,
      checked: 4,
      firstInvalidId: target.id,
      firstInvalidSeq: target.seq,
      reason: expect.stringContaining('altered'),
      notYetChained: 0,
    });
    // Org chains are separate: the owner's org still verifies.
    expect((await verify(orgOwner.token, ownedOrgId)).valid).toBe(true);

    await tamper('UPDATE audit_logs SET changes = $2::jsonb WHERE id = $1', [
      target.id,
      JSON.stringify(target.changes),
    ]);
    expect((await verify(superUser.token)).valid).toBe(true);
  });

  it('names the record after a removed one', async () => {
    const records = await accountChain();
    await tamper('DELETE FROM audit_logs WHERE id = $1', [records[2].id]);
    expect(await verify(superUser.token)).toMatchObject({
      valid: false,
      checked: 3,
      firstInvalidId: records[3].id,
      firstInvalidSeq: records[3].seq,
      reason: expect.stringContaining('removed'),
    });
  });

  it('starts from a signed account-level checkpoint, and refuses a forged one', async () => {
    // Retention never prunes the account chain; should a checkpoint exist, the walk starts from it.
    const records = await accountChain();
    const cut = records[3];
    await tamper('DELETE FROM audit_logs WHERE org_id IS NULL AND chain_seq <= $1', [cut.chain_seq]);
    expect((await verify(superUser.token)).valid).toBe(false);

    await server.gateway.database.dataSource.transaction((tx) =>
      insertCheckpoint(tx, server.gateway.services.signingKeys, {
        orgId: null,
        throughSeq: cut.chain_seq,
        lastHash: cut.hash,
        removedCount: 4,
        createdAt: new Date().toISOString(),
      }),
    );
    expect(await verify(superUser.token)).toMatchObject({ valid: true, checked: records.length - 4 });

    await tamper('UPDATE audit_checkpoints SET removed_count = 3 WHERE org_id IS NULL', []);
    expect(await verify(superUser.token)).toMatchObject({
      valid: false,
      reason: expect.stringContaining('checkpoint'),
    });
  });
});
