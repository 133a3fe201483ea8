import { CompactSign, compactVerify } from 'jose';
import type { DataSource, EntityManager } from 'typeorm';
import { SIGNING_ALGORITHM, type SigningKeyStore } from '../../modules/auth/signing-keys.service';
import { canonicalJson } from './audit-hash';
import { linkOrgInTransaction } from './chainer';

/** Its own `typ`, so nothing else the gateway's key signs (tokens, API keys) passes for a checkpoint. */
const CHECKPOINT_TYPE = 'portcullis-audit-checkpoint+jws';

export type CheckpointKeys = Pick<SigningKeyStore, 'signingKey' | 'checkpointKey'>;

/** What the signature covers: where pruning cut an org's chain and the hash the remainder must follow. */
export type CheckpointContent = {
  orgId: string | null;
  /**
   * The chain position (`chain_seq`, a bigint as text) of the last removed record, or for a seal of
   * the chain's last record. Checkpoints stored before positions existed name a seq, which is the
   * same number: older records got their seq as their position.
   */
  throughSeq: string;
  lastHash: string;
  removedCount: number;
  /** ISO 8601 with millisecond precision, exactly as stored. */
  createdAt: string;
};

export type AuditCheckpoint = CheckpointContent & { id: string; signature: string };

/** Signs, stores and returns a checkpoint with the caller's transaction. */
export async function insertCheckpoint(
  tx: EntityManager,
  keys: CheckpointKeys,
  content: CheckpointContent,
): Promise<AuditCheckpoint> {
  const { kid, privateKey } = keys.signingKey();
  const signature = await new CompactSign(new TextEncoder().encode(canonicalJson(content)))
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: CHECKPOINT_TYPE })
    .sign(privateKey);
  const [{ id }]: Array<{ id: string }> = await tx.query(
    `INSERT INTO audit_checkpoints (org_id, through_seq, last_hash, removed_count, signature, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [content.orgId, content.throughSeq, content.lastHash, content.removedCount, signature, content.createdAt],
  );
  return { id, ...content, signature };
}

function newestCheckpoint(db: DataSource, orgId: string | null, kind: 'pruning' | 'seal') {
  return db
    .query(
      `SELECT id, org_id AS "orgId", through_seq::text AS "throughSeq", last_hash AS "lastHash",
              removed_count AS "removedCount", signature,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"
         FROM audit_checkpoints
        WHERE ${orgId === null ? 'org_id IS NULL' : 'org_id = $1'}
          AND removed_count ${kind === 'pruning' ? '> 0' : '= 0'}
        ORDER BY through_seq DESC
        LIMIT 1`,
      orgId === null ? [] : [orgId],
    )
    .then((rows: AuditCheckpoint[]) => rows[0] ?? null);
}

/**
 * The chain's newest pruning checkpoint: the one its remaining records start from. Null names the
 * account-level chain, which retention never prunes; its checkpoints are looked up all the same, so
 * the verifier stays right should that change.
 */
export function latestCheckpoint(db: DataSource, orgId: string | null): Promise<AuditCheckpoint | null> {
  return newestCheckpoint(db, orgId, 'pruning');
}

/**
 * The seal of a deleted org's chain: a checkpoint that removed nothing (pruning always removes at
 * least one record) and holds the seq and hash of the chain's last record, so a chain cut short
 * after the deletion shows.
 */
export function chainSeal(db: DataSource, orgId: string | null): Promise<AuditCheckpoint | null> {
  return newestCheckpoint(db, orgId, 'seal');
}

/**
 * Signs and stores the seal of an org's chain after its last record. The org's records this
 * transaction sees, its own deletion record included, are linked first within it (holding the
 * chainer's lock until it ends), so the seal names the deletion record's place and hash.
 */
export async function sealChain(tx: EntityManager, keys: CheckpointKeys, orgId: string): Promise<AuditCheckpoint> {
  await linkOrgInTransaction(tx, orgId);
  const [last]: Array<{ seq: string; hash: string }> = await tx.query(
    `SELECT chain_seq::text AS "seq", hash FROM audit_logs
      WHERE org_id = $1 AND chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1`,
    [orgId],
  );
  if (!last) throw new Error('an org being deleted has at least its deletion record');
  return insertCheckpoint(tx, keys, {
    orgId,
    throughSeq: last.seq,
    lastHash: last.hash,
    removedCount: 0,
    createdAt: new Date().toISOString(),
  });
}

/** Whether the signature is the gateway's, over exactly the stored fields. */
export async function checkpointSignatureHolds(keys: CheckpointKeys, checkpoint: AuditCheckpoint): Promise<boolean> {
  const { id: _id, signature, ...content } = checkpoint;
  try {
    const { payload, protectedHeader } = await compactVerify(signature, (header) => keys.checkpointKey(header.kid), {
      algorithms: [SIGNING_ALGORITHM],
    });
    return protectedHeader.typ === CHECKPOINT_TYPE && new TextDecoder().decode(payload) === canonicalJson(content);
  } catch {
    return false;
  }
}
