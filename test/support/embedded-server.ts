import { dataDirLayout } from '../../src/core/db/embedded/data-dir';
import { readPostmasterRecord } from '../../src/core/db/embedded/postmaster';
import { isProcessAlive } from '../../src/core/process/processes';

/** The embedded server's pid while it runs (PostgreSQL's own postmaster.pid in DATA_DIR), else null. */
export async function embeddedServerPid(dataDir: string): Promise<number | null> {
  const record = await readPostmasterRecord(dataDirLayout(dataDir));
  return record && isProcessAlive(record.pid) ? record.pid : null;
}
