import { parseArgs } from 'node:util';
import { verifyAuditChain } from '../core/audit/verify-chain';
import { isId } from '../core/ids';
import { signingKeys, withAdminSession } from './admin-session';
import { UsageError } from './usage-error';

export const AUDIT_VERIFY_USAGE = 'portcullis audit verify --org <org id> | --account';

/**
 * Recomputes an org's audit hash chain, or the account-level one (records of no org), and prints
 * the result as JSON. Exits 1 when the chain is broken, so a cron job or CI step can alert on it.
 */
export async function auditVerify(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { org: { type: 'string' }, account: { type: 'boolean' } } });
  if (Boolean(values.account) === Boolean(values.org) || (values.org !== undefined && !isId(values.org))) {
    throw new UsageError(AUDIT_VERIFY_USAGE);
  }
  const orgId = values.org ?? null;
  return withAdminSession({ create: false }, async (session) => {
    if (orgId) {
      // A deleted org's chain stays, sealed, and can still be verified.
      const [org] = await session.database.dataSource.query(
        'SELECT 1 FROM orgs WHERE id = $1 UNION ALL SELECT 1 FROM deleted_orgs WHERE id = $1',
        [orgId],
      );
      if (!org) throw new Error(`no org has the id ${orgId}`);
    }
    const result = await verifyAuditChain(session.database.dataSource, orgId, await signingKeys(session));
    const chain = orgId ? { orgId } : { chain: 'account' };
    process.stdout.write(`${JSON.stringify({ ...chain, ...result })}\n`);
    return result.valid ? 0 : 1;
  });
}
