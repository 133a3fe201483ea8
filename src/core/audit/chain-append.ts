import type { EntityManager } from 'typeorm';
import { auditRecordHash, type HashedAuditContent } from './audit-hash';
import type { AuditRow } from './org-copies';

/**
 * Serialises everyone who appends to or prunes one chain (org_id NULL: the account-level one) until
 * the transaction ends. Transaction-level advisory locks stack, so taking it twice is harmless.
 */
export async function lockAuditChain(tx: EntityManager, orgId: string | null): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('audit:' || coalesce($1::text, '-')))`, [orgId]);
}

/** Appends a record to its org's chain: the chain's lock, then its last hash (which then holds), the insert. */
export async function appendToOrgChain(tx: EntityManager, row: AuditRow & { orgId: string }): Promise<void> {
  await appendManyToOrgChain(tx, row.orgId, [row]);
}

/** Rows per INSERT: 17 parameters each, well under PostgreSQL's 65,535. */
const INSERT_CHUNK = 1000;

/** Appends records to one org's chain in their order, each following the one before it. */
export async function appendManyToOrgChain(tx: EntityManager, orgId: string, rows: AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  await lockAuditChain(tx, orgId);
  const [last]: Array<{ hash: string | null }> = await tx.query(
    'SELECT hash FROM audit_logs WHERE org_id = $1 ORDER BY seq DESC LIMIT 1',
    [orgId],
  );
  let prevHash = last?.hash ?? null;
  const chained = rows.map((row) => {
    const content = { ...row, orgId, prevHash };
    prevHash = auditRecordHash(content);
    return content;
  });
  for (let start = 0; start < chained.length; start += INSERT_CHUNK) {
    await insertRecords(tx, chained.slice(start, start + INSERT_CHUNK));
  }
}

/**
 * Appends the account-chain record (first) and its copies in org chains (sorted by org id) in
 * three statements however many orgs there are, so an event about an account that exists, with or
 * without orgs, costs the same statements as one about an address that has no account.
 *
 * The locks are taken in the order given, in one statement (a volatile function in the target list
 * runs after ORDER BY), so every writer locks the account chain first, then orgs by id, and
 * concurrent fan-outs cannot deadlock. The last hashes are read in a later statement, whose
 * snapshot sees every record committed before the locks were granted.
 */
export async function appendToAccountAndOrgChains(
  tx: EntityManager,
  [account, ...copies]: [AuditRow, ...AuditRow[]],
): Promise<void> {
  const orgIds = copies.map((copy) => copy.orgId as string);
  await tx.query(
    // The same keys as lockAuditChain's.
    `SELECT pg_advisory_xact_lock(hashtext('audit:' || coalesce(chain, '-')))
       FROM unnest($1::text[]) WITH ORDINALITY AS chains(chain, position)
      ORDER BY position`,
    [[null, ...orgIds]],
  );
  const lastHashes: Array<{ orgId: string | null; hash: string | null }> = await tx.query(
    `SELECT NULL::uuid AS "orgId", (SELECT hash FROM audit_logs WHERE org_id IS NULL ORDER BY seq DESC LIMIT 1) AS hash
     UNION ALL
     SELECT org_id, (SELECT hash FROM audit_logs a WHERE a.org_id = chains.org_id ORDER BY seq DESC LIMIT 1)
       FROM unnest($1::uuid[]) AS chains(org_id)`,
    [orgIds],
  );
  const prevHash = new Map(lastHashes.map(({ orgId, hash }) => [orgId, hash]));
  await insertRecords(
    tx,
    [account, ...copies].map((row) => ({ ...row, prevHash: prevHash.get(row.orgId) ?? null })),
  );
}

const COLUMNS = `id, org_id, actor_id, actor_kind, api_key_id, action, target_type, target_id, ip_address,
  user_agent, request_id, changes, created_at, prev_hash, hash, event_id, subject_user_id`;

/** One INSERT for all the records, each hashed over exactly what is stored. */
async function insertRecords(tx: EntityManager, records: HashedAuditContent[]): Promise<void> {
  const values: unknown[] = [];
  const tuples = records.map((content) => {
    const first = values.length + 1;
    values.push(
      content.id,
      content.orgId,
      content.actorId,
      content.actorKind,
      content.apiKeyId,
      content.action,
      content.targetType,
      content.targetId,
      content.ipAddress,
      content.userAgent,
      content.requestId,
      content.changes === null ? null : JSON.stringify(content.changes),
      content.createdAt,
      content.prevHash,
      auditRecordHash(content),
      content.eventId ?? null,
      content.subjectUserId ?? null,
    );
    const params = Array.from({ length: 17 }, (_, index) => `$${first + index}${index === 11 ? '::jsonb' : ''}`);
    return `(${params.join(', ')})`;
  });
  await tx.query(`INSERT INTO audit_logs (${COLUMNS}) VALUES ${tuples.join(', ')}`, values);
}
