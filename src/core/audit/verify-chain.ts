import type { DataSource } from 'typeorm';
import { AUDIT_RECORD_COLUMNS, auditRecordHash, type HashedAuditContent } from './audit-hash';
import { checkpointSignatureHolds, latestCheckpoint, type CheckpointKeys } from './checkpoint';

/** `checked` counts the records examined, the first invalid one included. */
export type ChainVerification = {
  valid: boolean;
  checked: number;
  firstInvalidId: string | null;
  firstInvalidSeq: string | null;
  reason: string | null;
};

type StoredRecord = HashedAuditContent & { seq: string; hash: string | null };

const BATCH_SIZE = 1000;

const CHECKPOINT_FORGED = 'checkpoint: its signature does not hold, so it was forged or altered';

/**
 * One batch of a chain after `seq` ($1). `org_id IS NULL` is the account-level chain; both forms use
 * the (org_id, seq) index. ORDER BY names the table column: the text alias "seq" would otherwise
 * sort "10" before "9".
 */
function selectRecords(orgId: string | null): string {
  return `
    SELECT ${AUDIT_RECORD_COLUMNS}
      FROM audit_logs
     WHERE ${orgId === null ? 'org_id IS NULL' : 'org_id = $2'} AND seq > $1
     ORDER BY audit_logs.seq
     LIMIT ${BATCH_SIZE}`;
}

/** Why a record breaks the chain, or null when it follows `expectedPrevHash` and its hash holds. */
function defectOf(record: StoredRecord, expectedPrevHash: string | null): string | null {
  if (record.prevHash !== expectedPrevHash) {
    return expectedPrevHash === null
      ? 'the first record names a predecessor: earlier records were removed'
      : 'prev_hash does not match the record before it: a record was removed or reordered';
  }
  const { seq: _seq, hash, ...content } = record;
  if (hash !== auditRecordHash(content)) return 'the stored hash does not match the record: it was altered';
  return null;
}

/**
 * Walks an org's chain, or with a null orgId the account-level one (records without an org), in
 * insertion order, in batches (constant memory), recomputing every hash. It proves that no record
 * was altered, removed or reordered before the newest; removing the newest records leaves a valid,
 * shorter chain, which only an external copy of the last hash shows.
 *
 * After retention pruning, the walk starts from the newest checkpoint: its signature must hold
 * (nobody without the gateway's key can declare a prefix legitimately removed), and the first
 * remaining record must follow the hash it holds.
 */
export async function verifyAuditChain(
  db: DataSource,
  orgId: string | null,
  keys: CheckpointKeys,
): Promise<ChainVerification> {
  const checkpoint = await latestCheckpoint(db, orgId);
  if (checkpoint && !(await checkpointSignatureHolds(keys, checkpoint))) {
    return { valid: false, checked: 0, firstInvalidId: null, firstInvalidSeq: null, reason: CHECKPOINT_FORGED };
  }
  let checked = 0;
  let lastSeq = checkpoint?.throughSeq ?? '0';
  let expectedPrevHash: string | null = checkpoint?.lastHash ?? null;
  const sql = selectRecords(orgId);
  for (;;) {
    const batch: StoredRecord[] = await db.query(sql, orgId === null ? [lastSeq] : [lastSeq, orgId]);
    for (const record of batch) {
      const reason = defectOf(record, expectedPrevHash);
      if (reason)
        return { valid: false, checked: checked + 1, firstInvalidId: record.id, firstInvalidSeq: record.seq, reason };
      checked += 1;
      expectedPrevHash = record.hash;
    }
    if (batch.length < BATCH_SIZE)
      return { valid: true, checked, firstInvalidId: null, firstInvalidSeq: null, reason: null };
    lastSeq = batch[batch.length - 1].seq;
  }
}
