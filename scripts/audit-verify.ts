import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/core/config/config';
import { resolveSecretKey } from '../src/core/config/secret-key';
import { verifyAuditChain } from '../src/core/audit/verify-chain';
import { openDatabase } from '../src/core/db/database';
import { isId } from '../src/core/ids';
import { createLogger } from '../src/core/logger';
import { SigningKeyStore } from '../src/modules/auth/signing-keys.service';

const USAGE = 'usage: npm run audit:verify -- --org <org id>';

/**
 * Recomputes an org's audit hash chain on the configured database and prints the result as JSON.
 * Exits 1 when the chain is broken, so a cron job or CI step can alert on it.
 */
async function main() {
  const { values } = parseArgs({ options: { org: { type: 'string' } } });
  if (!isId(values.org)) throw new Error(USAGE);
  const config = loadConfig();
  const database = await openDatabase(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  try {
    // Retention checkpoints are signed with the gateway's key.
    const keys = new SigningKeyStore(database.dataSource, await resolveSecretKey(config));
    await keys.initialize();
    const result = await verifyAuditChain(database.dataSource, values.org, keys);
    process.stdout.write(`${JSON.stringify({ orgId: values.org, ...result })}\n`);
    if (!result.valid) process.exitCode = 1;
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
