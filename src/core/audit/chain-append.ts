import type { EntityManager } from 'typeorm';
import type { HashedAuditContent } from './audit-hash';
import { ORG_COPIES_SQL } from './org-copies';

/** A record as its writer appends it: everything its hash will cover but the hash of its predecessor. */
export type AuditRow = Omit<HashedAuditContent, 'prevHash'>;

/**
 * The columns a writer fills. `hash`, `prev_hash` and `chain_seq` stay null until the chainer
 * links the committed record (chainer.ts): a writer takes no lock and reads no other record, so
 * writers of one chain never wait for each other.
 */
const COLUMNS = `id, org_id, actor_id, actor_kind, api_key_id, action, target_type, target_id, ip_address,
  user_agent, request_id, changes, created_at, event_id, subject_user_id`;
const COLUMN_COUNT = 15;
const CHANGES_COLUMN = 11;

/** Rows per INSERT: 15 parameters each, well under PostgreSQL's 65,535. */
const INSERT_CHUNK = 1000;

function rowValues(row: AuditRow): unknown[] {
  return [
    row.id,
    row.orgId,
    row.actorId,
    row.actorKind,
    row.apiKeyId,
    row.action,
    row.targetType,
    row.targetId,
    row.ipAddress,
    row.userAgent,
    row.requestId,
    row.changes === null ? null : JSON.stringify(row.changes),
    row.createdAt,
    row.eventId ?? null,
    row.subjectUserId ?? null,
  ];
}

/** Appends records in their order, one INSERT per thousand. */
export async function appendRecords(tx: EntityManager, rows: readonly AuditRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const values: unknown[] = [];
    const tuples = rows.slice(start, start + INSERT_CHUNK).map((row) => {
      const first = values.push(...rowValues(row)) - COLUMN_COUNT + 1;
      const params = Array.from(
        { length: COLUMN_COUNT },
        (_, index) => `$${first + index}${index === CHANGES_COLUMN ? '::jsonb' : ''}`,
      );
      return `(${params.join(', ')})`;
    });
    await tx.query(`INSERT INTO audit_logs (${COLUMNS}) VALUES ${tuples.join(', ')}`, values);
  }
}

/**
 * Appends an account event: its account-chain record and, in the same statement, one copy per org
 * its subject belongs to (org-copies.ts). One statement whether or not the subject exists or
 * belongs to orgs, so the work done does not tell whether an address has an account.
 */
export async function appendAccountEvent(tx: EntityManager, row: AuditRow): Promise<void> {
  await tx.query(ORG_COPIES_SQL, rowValues(row));
}
