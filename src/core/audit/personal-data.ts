import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { DataSource, EntityManager } from 'typeorm';
import { isId } from '../ids';

/**
 * Crypto-shredding of personal data in audit `changes` (docs/audit.md, "Deleting orgs and
 * accounts"). Audit rows are append-only and hashed, so personal data cannot be removed from them;
 * it is stored sealed (AES-256-GCM) under a random key per subject instead, and destroying the key
 * erases it while every hash still holds.
 */

/** Keys whose values are personal data, at any depth of `changes`. */
const PERSONAL_KEYS: ReadonlySet<string> = new Set([
  'email',
  'newEmail',
  'oldEmail',
  'firstName',
  'lastName',
  'fullName',
]);
const EMAIL_KEYS: ReadonlySet<string> = new Set(['email', 'newEmail', 'oldEmail']);

/** What a reader sees of a value whose key was destroyed. */
export const ERASED = '[erased]';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

type SealedValue = { sealed: string };

/** The subject whose key seals personal data about an account. */
export function accountSubject(userId: string): string {
  return `user:${userId.toLowerCase()}`;
}

/**
 * How an address with no account is found among the keys: its SHA-256, kept only in the key's row.
 * The subject sealed values name is a random id instead, so once the key row is deleted nothing in
 * the audit rows can be matched against a guessed address.
 */
export function addressHash(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex');
}

/** What a value's key is looked up by: `user:<id>` (also its subject) or `address:<hash>`. */
const ADDRESS_CLAIM = 'address:';

/** What an audit entry is about: its subject account, or else a User it targets. */
type PersonalDataOwner = { subjectUserId?: string | null; targetType?: string; targetId?: string | null };

function ownerAccount(owner: PersonalDataOwner): string | null {
  const account = owner.subjectUserId ?? (owner.targetType === 'User' ? owner.targetId : null);
  return isId(account) ? account : null;
}

type Found = { key: string; value: unknown; subject: string | null };

/** Every personal value at any depth with the subject it would be sealed under (null: no subject, dropped). */
function personalValues(value: unknown, account: string | null, found: Found[] = []): Found[] {
  if (Array.isArray(value)) value.forEach((inner) => personalValues(inner, account, found));
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (!PERSONAL_KEYS.has(key)) personalValues(inner, account, found);
      else if (inner !== null) found.push({ key, value: inner, subject: subjectFor(key, inner, account) });
    }
  }
  return found;
}

function subjectFor(key: string, value: unknown, account: string | null): string | null {
  if (account) return accountSubject(account);
  return EMAIL_KEYS.has(key) && typeof value === 'string' ? `${ADDRESS_CLAIM}${addressHash(value)}` : null;
}

function seal(value: unknown, subject: string, key: Buffer): SealedValue {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The subject is authenticated data: a sealed value moved under another subject fails to open.
  cipher.setAAD(Buffer.from(subject, 'utf8'));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  const packed = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  return { sealed: `${VERSION}:${subject}:${packed}` };
}

function sealedParts(value: unknown): { subject: string; packed: Buffer } | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  if (entries.length !== 1 || entries[0][0] !== 'sealed' || typeof entries[0][1] !== 'string') return null;
  const text = entries[0][1];
  const last = text.lastIndexOf(':');
  if (!text.startsWith(`${VERSION}:`) || last <= VERSION.length) return null;
  return { subject: text.slice(VERSION.length + 1, last), packed: Buffer.from(text.slice(last + 1), 'base64url') };
}

function open(parts: { subject: string; packed: Buffer }, key: Buffer | null): unknown {
  if (!key || parts.packed.length < IV_BYTES + TAG_BYTES) return ERASED;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, parts.packed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(parts.subject, 'utf8'));
    decipher.setAuthTag(parts.packed.subarray(parts.packed.length - TAG_BYTES));
    const body = parts.packed.subarray(IV_BYTES, parts.packed.length - TAG_BYTES);
    return JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8'));
  } catch {
    return ERASED;
  }
}

/** Replaces personal values at any depth; `replace` answers undefined to drop the key. */
function mapPersonal(value: unknown, replace: (key: string, inner: unknown) => unknown): unknown {
  if (Array.isArray(value)) return value.map((inner) => mapPersonal(inner, replace));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).flatMap(([key, inner]): Array<[string, unknown]> => {
      if (!PERSONAL_KEYS.has(key) || inner === null) return [[key, mapPersonal(inner, replace)]];
      const replaced = replace(key, inner);
      return replaced === undefined ? [] : [[key, replaced]];
    });
    return Object.fromEntries(entries);
  }
  return value;
}

type SubjectKey = { subject: string; key: Buffer };

/**
 * The keys for these claims (see subjectFor), created where missing, in one statement: an account's
 * under its own subject, an address's under a new random `email:<uuid>` subject. A key is never
 * created for an account that no longer exists, so nothing written after an erasure reopens it; such
 * values are dropped. Existing keys are read, not locked: writers about one subject do not queue.
 */
async function subjectKeys(tx: EntityManager, claims: string[]): Promise<Map<string, SubjectKey>> {
  const subjects = claims.map((claim) => (claim.startsWith(ADDRESS_CLAIM) ? `email:${randomUUID()}` : claim));
  const rows: Array<SubjectKey & { claim: string }> = await tx.query(
    `WITH wanted AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[]) AS t(claim, subject, key)
     ), created AS (
       INSERT INTO audit_subject_keys (subject, key, address_hash)
       SELECT w.subject, w.key, CASE WHEN w.claim LIKE '${ADDRESS_CLAIM}%' THEN substr(w.claim, ${ADDRESS_CLAIM.length + 1}) END
         FROM wanted w
         -- Per claim, by primary key: an EXISTS here became a hashed subplan reading every account.
         LEFT JOIN LATERAL (
           SELECT true AS present FROM users u
            WHERE w.claim LIKE 'user:%' AND u.id = substr(w.claim, 6)::uuid
            LIMIT 1
         ) account ON true
        WHERE w.claim NOT LIKE 'user:%' OR account.present
       ON CONFLICT DO NOTHING
       RETURNING subject, key
     )
     SELECT w.claim, c.subject, c.key FROM created c JOIN wanted w ON w.subject = c.subject
     UNION ALL
     ${EXISTING_KEYS}`,
    [claims, subjects, claims.map(() => randomBytes(32))],
  );
  const keys = new Map(rows.map((row) => [row.claim, { subject: row.subject, key: row.key }]));
  // A key another transaction committed after this statement's snapshot was taken: read it now.
  const missed = claims.filter((claim) => !keys.has(claim));
  if (missed.length === 0) return keys;
  const late: Array<SubjectKey & { claim: string }> = await tx.query(
    `WITH wanted AS (SELECT unnest($1::text[]) AS claim) ${EXISTING_KEYS}`,
    [missed],
  );
  for (const row of late) keys.set(row.claim, { subject: row.subject, key: row.key });
  return keys;
}

/** The stored keys of the claims in `wanted`, each side by its own index (a CASE in one join would scan). */
const EXISTING_KEYS = `
  SELECT w.claim, k.subject, k.key FROM wanted w JOIN audit_subject_keys k ON k.subject = w.claim
  UNION ALL
  SELECT w.claim, k.subject, k.key
    FROM wanted w
    JOIN audit_subject_keys k
      ON w.claim LIKE '${ADDRESS_CLAIM}%' AND k.address_hash = substr(w.claim, ${ADDRESS_CLAIM.length + 1})`;

/**
 * Seals the personal values of stored `changes` under their subject's key, before the record is
 * hashed: the hash covers the sealed form, so chains verify before and after an erasure. Values with
 * no subject (a name with no account) are not stored at all.
 */
export async function sealPersonalData(
  tx: EntityManager,
  changes: Record<string, unknown> | null,
  owner: PersonalDataOwner,
): Promise<Record<string, unknown> | null> {
  const [sealed] = await sealPersonalDataOfMany(tx, [{ changes, owner }]);
  return sealed;
}

/** The same for many records at once, with one statement for all their keys (an import's lines). */
export async function sealPersonalDataOfMany(
  tx: EntityManager,
  records: ReadonlyArray<{ changes: Record<string, unknown> | null; owner: PersonalDataOwner }>,
): Promise<Array<Record<string, unknown> | null>> {
  const accounts = records.map(({ owner }) => ownerAccount(owner));
  const found = records.map(({ changes }, index) => personalValues(changes, accounts[index]));
  const claims = [...new Set(found.flat().flatMap(({ subject }) => (subject ? [subject] : [])))];
  const keys = claims.length ? await subjectKeys(tx, claims) : new Map<string, SubjectKey>();
  return records.map(({ changes }, index) => {
    if (changes === null || found[index].length === 0) return changes;
    return mapPersonal(changes, (key, inner) => {
      const claim = subjectFor(key, inner, accounts[index]);
      const sealing = claim ? keys.get(claim) : undefined;
      return sealing ? seal(inner, sealing.subject, sealing.key) : undefined;
    }) as Record<string, unknown>;
  });
}

/** The subjects whose keys opening `changes` needs. */
export function sealedSubjects(changes: Record<string, unknown> | null): string[] {
  const subjects = new Set<string>();
  const walk = (value: unknown): void => {
    const parts = sealedParts(value);
    if (parts) subjects.add(parts.subject);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(changes);
  return [...subjects];
}

/** `changes` with each sealed value opened, or ERASED where its key is gone. */
export function openPersonalData(
  changes: Record<string, unknown> | null,
  keys: ReadonlyMap<string, Buffer | null>,
): Record<string, unknown> | null {
  const walk = (value: unknown): unknown => {
    const parts = sealedParts(value);
    if (parts) return open(parts, keys.get(parts.subject) ?? null);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, walk(inner)]));
    }
    return value;
  };
  return walk(changes) as Record<string, unknown> | null;
}

/** Per request: subject keys, one SELECT per tick, so a page of records costs one statement. */
export function createAuditKeyLoaders(db: DataSource) {
  return {
    auditSubjectKey: new DataLoader<string, Buffer | null>(async (subjects) => {
      const rows: Array<{ subject: string; key: Buffer }> = await db.query(
        'SELECT subject, key FROM audit_subject_keys WHERE subject = ANY($1::text[])',
        [[...subjects]],
      );
      const bySubject = new Map(rows.map((row) => [row.subject, row.key]));
      return subjects.map((subject) => bySubject.get(subject) ?? null);
    }),
  };
}

/** Destroys the keys of an account (and of its address), erasing what was sealed under them. */
export async function eraseAccountPersonalData(tx: EntityManager, userId: string, email: string | null): Promise<void> {
  await tx.query('DELETE FROM audit_subject_keys WHERE subject = $1 OR address_hash = $2', [
    accountSubject(userId),
    email ? addressHash(email) : null,
  ]);
}
