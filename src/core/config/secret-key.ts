import { readFile } from 'node:fs/promises';
import { dataDirLayout } from '../db/embedded/data-dir';
import type { Config } from './config';

/**
 * SECRET_KEY when set; otherwise (embedded mode only: config requires it with DATABASE_URL) the
 * key generated into DATA_DIR/secret.key when the folder was initialised.
 */
export async function resolveSecretKey(config: Config): Promise<string> {
  if (config.secretKey) return config.secretKey;
  return (await readFile(dataDirLayout(config.dataDir).secretKeyFile, 'utf8')).trim();
}
