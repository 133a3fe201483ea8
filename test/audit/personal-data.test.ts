import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import {
  accountSubject,
  addressHash,
  ERASED,
  openPersonalData,
  sealedSubjects,
  sealPersonalData,
} from '../../src/core/audit/personal-data';
import { createOrgAs, createUser, person, uniqueEmail, type Person } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * Crypto-shredding: emails and names in audit `changes` are stored sealed under a key per subject,
 * opened for readers while the key exists, and erased by deleting it; hashes cover the sealed form.
 */

let server: TestGateway;
let superUser: { token: string; id: string };

const inTransaction = <T>(work: (tx: EntityManager) => Promise<T>): Promise<T> =>
  server.gateway.database.dataSource.transaction(work);

async function keysOf(changes: Record<string, unknown> | null): Promise<Map<string, Buffer | null>> {
  const subjects = sealedSubjects(changes);
  const rows: Array<{ subject: string; key: Buffer }> = await server.sql(
    'SELECT subject, key FROM audit_subject_keys WHERE subject = ANY($1::text[])',
    [subjects],
  );
  return new Map(subjects.map((subject) => [subject, rows.find((row) => row.subject === subject)?.key ?? null]));
}

beforeAll(async () => {
  server = await startTestGateway();
  const signedIn = await server.login();
  superUser = { token: signedIn.accessToken, id: signedIn.userId };
});

afterAll(async () => {
  await server.close();
});

describe('sealing', () => {
  it('seals every personal value at any depth under the account, and opens it again', async () => {
    const userId = await createUser(server, uniqueEmail('sealed'));
    const changes = {
      before: { email: 'old@example.com', firstName: 'Ada', role: 'viewer' },
      after: { nested: [{ lastName: 'Lovelace', fullName: 'Ada Lovelace' }], newEmail: 'new@example.com' },
      oldEmail: null,
    };
    const sealed = await inTransaction((tx) => sealPersonalData(tx, changes, { subjectUserId: userId }));
    const text = JSON.stringify(sealed);
    for (const personal of ['old@example.com', 'new@example.com', 'Ada', 'Lovelace'])
      expect(text).not.toContain(personal);
    expect(sealed).toMatchObject({
      before: { email: { sealed: expect.stringMatching(`^v1:user:${userId}:`) }, role: 'viewer' },
      oldEmail: null,
    });
    expect(sealedSubjects(sealed)).toEqual([accountSubject(userId)]);
    expect(openPersonalData(sealed, await keysOf(sealed))).toEqual(changes);
    // Without the key, or under another subject's key, nothing opens.
    expect(openPersonalData(sealed, new Map())).toMatchObject({
      before: { email: ERASED },
      after: { newEmail: ERASED },
    });
    const other = await createUser(server, uniqueEmail('other'));
    const otherKey = await inTransaction((tx) =>
      sealPersonalData(tx, { email: 'x@example.com' }, { subjectUserId: other }),
    ).then(keysOf);
    const wrongKeys = new Map([[accountSubject(userId), [...otherKey.values()][0]]]);
    expect(openPersonalData(sealed, wrongKeys)).toMatchObject({ before: { email: ERASED } });
  });

  it('falls back on a User target, seals an address without an account under its hash, and drops a name without one', async () => {
    const userId = await createUser(server, uniqueEmail('targeted'));
    const byTarget = await inTransaction((tx) =>
      sealPersonalData(tx, { email: 'a@example.com' }, { targetType: 'User', targetId: userId }),
    );
    expect(sealedSubjects(byTarget)).toEqual([accountSubject(userId)]);

    const address = 'Nobody.Here@Example.com ';
    const anonymous = await inTransaction((tx) =>
      sealPersonalData(tx, { email: address, firstName: 'Nameless', reason: 'unknown_email' }, {}),
    );
    const hash = createHash('sha256').update('nobody.here@example.com').digest('hex');
    expect(addressHash(address)).toBe(hash);
    // The sealed value names a random subject, never the address's hash: once the key row is gone,
    // nothing in the audit row can be matched against a guessed address.
    const [subject] = sealedSubjects(anonymous);
    expect(subject).toMatch(/^email:[0-9a-f-]{36}$/);
    expect(JSON.stringify(anonymous)).not.toContain(hash);
    expect(await server.sql('SELECT address_hash FROM audit_subject_keys WHERE subject = $1', [subject])).toEqual([
      { address_hash: hash },
    ]);
    expect(openPersonalData(anonymous, await keysOf(anonymous))).toEqual({ email: address, reason: 'unknown_email' });
    // The same address, in any spelling, is sealed under the same subject.
    const again = await inTransaction((tx) => sealPersonalData(tx, { email: 'NOBODY.here@example.com' }, {}));
    expect(sealedSubjects(again)).toEqual([subject]);
  });

  it('creates no key for an account that no longer exists: its values are not stored', async () => {
    const gone = '00000000-0000-4000-8000-0000000000aa';
    const sealed = await inTransaction((tx) =>
      sealPersonalData(tx, { email: 'gone@example.com', ok: 1 }, { subjectUserId: gone }),
    );
    expect(sealed).toEqual({ ok: 1 });
    expect(await server.sql('SELECT 1 FROM audit_subject_keys WHERE subject = $1', [accountSubject(gone)])).toEqual([]);
  });
});

describe('audit records', () => {
  let owner: Person;
  let orgId: string;

  beforeAll(async () => {
    owner = await person(server, 'pd-owner', undefined);
    orgId = await createOrgAs(server, owner.token, 'Personal Data Org');
  });

  it('store an invitee address sealed; the org reads it, the export and the hash keep the sealed form', async () => {
    const invitee = uniqueEmail('invitee');
    const [{ id: roleId }] = await server.sql(`SELECT id FROM roles WHERE org_id = $1 AND key = 'viewer'`, [orgId]);
    const invited = await server.graphql(
      'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
      { input: { orgId, email: invitee, roleId } },
      { token: owner.token },
    );
    expect(invited.errors).toBeUndefined();
    const stored = await server.sql(
      `SELECT changes::text AS changes FROM audit_logs WHERE org_id = $1 AND action = 'invitation.created'`,
      [orgId],
    );
    expect(stored).toHaveLength(1);
    expect(stored[0].changes).not.toContain(invitee);
    expect(stored[0].changes).toContain('"sealed"');

    const read = await server.graphql(
      `query ($orgId: ID!) { auditLogs(orgId: $orgId, filter: { action: "invitation.created" }) { edges { node { changes } } } }`,
      { orgId },
      { token: owner.token },
    );
    expect(JSON.stringify(read.data.auditLogs.edges[0].node.changes)).toContain(invitee);

    const exported = await fetch(`${server.url}/audit/export?${new URLSearchParams({ orgId, format: 'ndjson' })}`, {
      headers: { authorization: `Bearer ${owner.token}` },
    }).then((response) => response.text());
    expect(exported).toContain('"sealed"');
    expect(exported).not.toContain(invitee);

    const verified = await server.graphql(
      'query ($orgId: ID) { verifyAuditChain(orgId: $orgId) { valid } }',
      { orgId },
      { token: owner.token },
    );
    expect(verified.data.verifyAuditChain.valid).toBe(true);
  });

  it('are opened with one key look-up per page, whatever its size', async () => {
    for (let i = 0; i < 12; i++) {
      const email = uniqueEmail(`paged${i}`);
      await server.graphql('mutation ($e: String!) { requestPasswordReset(email: $e) }', { e: email });
    }
    const QUERY = `query ($first: Int!) {
      auditLogs(first: $first, filter: { action: "user.password_reset_requested" }) { edges { node { changes } } }
    }`;
    const statementsFor = async (first: number) => {
      const statements = server.gateway.database.statements;
      const before = statements.total;
      const response = await server.graphql(QUERY, { first }, { token: superUser.token });
      expect(response.errors).toBeUndefined();
      const emails = response.data.auditLogs.edges.map(({ node }: any) => node.changes.email);
      expect(emails.every((email: string) => /@example\.com$/.test(email))).toBe(true);
      return { count: statements.total - before, edges: emails.length };
    };
    // A first request may fill per-process caches (the caller's credentials): compare warm requests.
    await statementsFor(2);
    const small = await statementsFor(2);
    const large = await statementsFor(12);
    expect([small.edges, large.edges]).toEqual([2, 12]);
    expect(large.count).toBe(small.count);
  });
});
