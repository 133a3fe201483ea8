import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

/**
 * The spellings per-email limits count as one, computed whether or not an account has the address,
 * so a limit never tells whether one exists.
 *
 * A limit must never count apart two spellings that reach the same account, or each spelling gets a
 * fresh allowance against one victim. Every account look-up compares `lower(u.email) = lower(:email)`
 * on the trimmed email, and PostgreSQL's lower() follows the database's collation and Unicode
 * tables, which JavaScript cannot reproduce (under libc, lower('İ') is "i" where JS gives "i̇", and a
 * final 'Σ' becomes "σ" where JS gives "ς"). So the key starts from that same lower() of that same
 * trimmed text, asked of the same database: two spellings one look-up treats as equal have equal
 * lower() results, hence equal keys, under whatever collation the operator chose. The fold on top
 * only merges more (see `folded`); merging distinct addresses just makes them share a limit.
 *
 * One round trip for all of `emails`; keys come back in the same order.
 */
export async function emailLimitKeys(db: Queryable, emails: readonly string[]): Promise<string[]> {
  if (emails.length === 0) return [];
  const rows: Array<{ lowered: string }> = await db.query(
    `SELECT lower(email) AS lowered
       FROM unnest($1::text[]) WITH ORDINALITY AS given(email, position)
      ORDER BY position`,
    [emails.map((email) => email.trim())],
  );
  return rows.map(({ lowered }) => folded(lowered));
}

export async function emailLimitKey(db: Queryable, email: string): Promise<string> {
  const [key] = await emailLimitKeys(db, [email]);
  return key;
}

/**
 * Merges what a mail system or another collation may treat as one address: compatibility forms
 * (full-width letters), accents and other combining marks (NFKD, then \p{M} removed), case every
 * way (lower, upper, lower again merges dotless ı with i, ß and ẞ with ss, ſ with s), and final ς
 * with σ. On its own this is already coarser than lower() under libc and ICU (root, tr, lt, el)
 * for every code point, and idempotent (test/rate-limits/email-spellings.test.ts checks the first).
 */
function folded(lowered: string): string {
  const bare = (text: string) => text.normalize('NFKD').replace(/\p{M}/gu, '');
  return bare(bare(lowered).toLowerCase().toUpperCase().toLowerCase()).replace(/ς/g, 'σ');
}
