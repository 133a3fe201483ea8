import type { DataSource } from 'typeorm';
import { AUDIT_RECORD_COLUMNS, auditRecordHash, type HashedAuditContent } from './audit-hash';
import { linkCommittedRecords } from './chainer';
import { chainSeal, checkpointSignatureHolds, latestCheckpoint, type CheckpointKeys } from './checkpoint';

/**
 * `checked` counts the records examined, the first invalid one included; `notYetChained` the
 * chain's records that committed while it ran and wait for the chainer.
 */
export type ChainVerification = {
  valid: boolean;
  checked: number;
  notYetChained: number;
  firstInvalidId: string | null;
  firstInvalidSeq: string | null;
  reason: string | null;
};

type StoredRecord = HashedAuditContent & { seq: string; chainSeq: string; hash: string | null };

const BATCH_SIZE = 1000;

const CHECKPOINT_FORGED = 'checkpoint: its signature does not hold, so it was forged or altered';
const SEAL_BROKEN = 'seal: the record it names was altered or replaced';
const SEAL_MISSING = 'seal: the chain ends before the record its seal names, so records were removed';

/**
 * One batch of a chain's linked records after position `chain_seq` ($1). `org_id IS NULL` is the
 * account-level chain; both forms use the (org_id, chain_seq) index. ORDER BY names the table
 * column: the text alias "chainSeq" would otherwise sort "10" before "9".
 */
function selectRecords(orgId: string | null): string {
  return `
    SELECT ${AUDIT_RECORD_COLUMNS}
      FROM audit_logs
     WHERE ${orgId === null ? 'org_id IS NULL' : 'org_id = $2'} AND chain_seq IS NOT NULL AND chain_seq > $1
     ORDER BY audit_logs.chain_seq
     LIMIT ${BATCH_SIZE}`;
}

/** The chain's records the chainer has not linked yet (the partial index of unlinked rows). */
async function notYetChained(db: DataSource, orgId: string | null): Promise<number> {
  const [{ count }]: Array<{ count: number }> = await db.query(
    `SELECT count(*)::int AS count FROM audit_logs
      WHERE chain_seq IS NULL AND ${orgId === null ? 'org_id IS NULL' : 'org_id = $1'}`,
    orgId === null ? [] : [orgId],
  );
  return count;
}

/** Why a record breaks the chain, or null when it follows `expectedPrevHash` and its hash holds. */
function defectOf(record: StoredRecord, expectedPrevHash: string | null): string | null {
  if (record.prevHash !== expectedPrevHash) {
    return expectedPrevHash === null
      ? 'the first record names a predecessor: earlier records were removed'
      : 'prev_hash does not match the record before it: a record was removed or reordered';
  }
  const { seq: _seq, chainSeq: _chainSeq, hash, ...content } = record;
  if (hash !== auditRecordHash(content)) return 'the stored hash does not match the record: it was altered';
  return null;
}

/**
 * Walks an org's chain, or with a null orgId the account-level one (records without an org), in
 * chain order, in batches (constant memory), recomputing every hash. It first links every record
 * committed before it started (linkCommittedRecords), so it covers all of them; records committed
 * meanwhile are counted as not yet chained. It proves that no record
 * was altered, removed or reordered before the newest; removing the newest records leaves a valid,
 * shorter chain, which only an external copy of the last hash shows.
 *
 * After retention pruning, the walk starts from the newest checkpoint: its signature must hold
 * (nobody without the gateway's key can declare a prefix legitimately removed), and the first
 * remaining record must follow the hash it holds.
 *
 * A deleted org's chain ends with a seal (checkpoint.ts, chainSeal): the record it names must be
 * reached with the hash it holds, so for such a chain removing the newest records shows too.
 */
export async function verifyAuditChain(
  db: DataSource,
  orgId: string | null,
  keys: CheckpointKeys,
): Promise<ChainVerification> {
  await linkCommittedRecords(db);
  const result = await walkChain(db, orgId, keys);
  return { ...result, notYetChained: await notYetChained(db, orgId) };
}

async function walkChain(
  db: DataSource,
  orgId: string | null,
  keys: CheckpointKeys,
): Promise<Omit<ChainVerification, 'notYetChained'>> {
  const [checkpoint, seal] = await Promise.all([latestCheckpoint(db, orgId), chainSeal(db, orgId)]);
  for (const signed of [checkpoint, seal]) {
    if (signed && !(await checkpointSignatureHolds(keys, signed))) {
      return { valid: false, checked: 0, firstInvalidId: null, firstInvalidSeq: null, reason: CHECKPOINT_FORGED };
    }
  }
  // A seal at or before the pruning point has nothing left to vouch for.
  let sealPending = seal !== null && BigInt(seal.throughSeq) > BigInt(checkpoint?.throughSeq ?? '0');
  let checked = 0;
  let lastSeq = checkpoint?.throughSeq ?? '0';
  let expectedPrevHash: string | null = checkpoint?.lastHash ?? null;
  const sql = selectRecords(orgId);
  for (;;) {
    const batch: StoredRecord[] = await db.query(sql, orgId === null ? [lastSeq] : [lastSeq, orgId]);
    for (const record of batch) {
      const sealed = sealPending && record.chainSeq === seal?.throughSeq;
      const reason =
        defectOf(record, expectedPrevHash) ?? (sealed && record.hash !== seal?.lastHash ? SEAL_BROKEN : null);
      if (reason)
        return { valid: false, checked: checked + 1, firstInvalidId: record.id, firstInvalidSeq: record.seq, reason };
      if (sealed) sealPending = false;
      checked += 1;
      expectedPrevHash = record.hash;
    }
    if (batch.length < BATCH_SIZE) {
      return sealPending
        ? { valid: false, checked, firstInvalidId: null, firstInvalidSeq: null, reason: SEAL_MISSING }
        : { valid: true, checked, firstInvalidId: null, firstInvalidSeq: null, reason: null };
    }
    lastSeq = batch[batch.length - 1].chainSeq;
  }
}
