import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The embedded server's pid while it runs (PostgreSQL's own postmaster.pid in DATA_DIR), else null. */
export async function embeddedServerPid(dataDir: string): Promise<number | null> {
  const record = await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => null);
  if (!record) return null;
  const pid = Number(record.split('\n')[0]);
  return isAlive(pid) ? pid : null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
