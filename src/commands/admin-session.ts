import type { Config } from '../core/config/config';
import { loadConfig } from '../core/config/config';
import { resolveSecretKey } from '../core/config/secret-key';
import { openDatabase, type Database } from '../core/db/database';
import { createLogger, type Logger } from '../core/logger';
import { SigningKeyStore } from '../modules/auth/signing-keys.service';

export type AdminSession = { config: Config; logger: Logger; database: Database; secretKey: string };

/**
 * What an admin command works with: the configured database — DATABASE_URL, or the embedded
 * server of DATA_DIR, attached to while a gateway runs it and started for the command otherwise —
 * with the schema up to date. `create` lets the command initialise an empty DATA_DIR.
 */
export async function withAdminSession<T>(
  { create }: { create: boolean },
  work: (session: AdminSession) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, logger, { kind: 'tool', create });
  try {
    return await work({ config, logger, database, secretKey: await resolveSecretKey(config) });
  } finally {
    await database.close();
  }
}

/** The gateway's signing keys: audit checkpoints are signed with them. */
export async function signingKeys(session: AdminSession): Promise<SigningKeyStore> {
  const keys = new SigningKeyStore(session.database.dataSource, session.secretKey);
  await keys.initialize();
  return keys;
}
