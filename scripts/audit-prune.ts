import 'reflect-metadata';
import type { AuditActor } from '../src/core/audit/audit';
import { pruneAuditChain } from '../src/core/audit/retention';
import { loadConfig } from '../src/core/config/config';
import { resolveSecretKey } from '../src/core/config/secret-key';
import { openDatabase } from '../src/core/db/database';
import { createLogger } from '../src/core/logger';
import { SigningKeyStore } from '../src/modules/auth/signing-keys.service';

const SYSTEM_ACTOR: AuditActor = {
  actorId: null,
  actorKind: 'SYSTEM',
  apiKeyId: null,
  ipAddress: null,
  userAgent: 'portcullis-audit-prune',
  requestId: null,
};

/**
 * Prunes every org that has an audit retention, one transaction per org, so a failure in one org
 * leaves the others pruned. Prints one JSON line per org; meant for a daily cron job.
 */
async function main() {
  const config = loadConfig();
  const database = await openDatabase(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  try {
    const db = database.dataSource;
    const keys = new SigningKeyStore(db, await resolveSecretKey(config));
    await keys.initialize();
    const orgs: Array<{ id: string }> = await db.query(
      'SELECT id FROM orgs WHERE audit_retention_days IS NOT NULL ORDER BY id',
    );
    for (const { id } of orgs) {
      const { removed, checkpoint } = await db.transaction((tx) => pruneAuditChain(tx, keys, SYSTEM_ACTOR, id));
      process.stdout.write(`${JSON.stringify({ orgId: id, removed, checkpointId: checkpoint?.id ?? null })}\n`);
    }
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
