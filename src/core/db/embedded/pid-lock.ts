import { open, readFile, rm } from 'node:fs/promises';
import { isProcessAlive, processCommand, processStartTime } from '../../process/processes';

type Holder = { pid: number; startTime: string | null };

async function readHolder(file: string): Promise<Holder | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  const [pid, startTime] = text.trim().split(/\s+/);
  return Number.isInteger(Number(pid)) && Number(pid) > 0 ? { pid: Number(pid), startTime: startTime ?? null } : null;
}

/**
 * The live process holding a pid-file lock, if any. A file whose process has died, or whose pid
 * now names another process (its start time differs: pids are reused, in containers at once),
 * names nobody. This very process may hold it too (a second open in one process waits, or is
 * refused, like another process would be). A file without a start time (written by an earlier version) is believed only
 * when the process's command line matches `looksLikeHolder`.
 */
export async function lockHolder(file: string, looksLikeHolder: RegExp): Promise<number | null> {
  const holder = await readHolder(file);
  if (!holder || !isProcessAlive(holder.pid)) return null;
  const startTime = await processStartTime(holder.pid);
  if (startTime !== null && holder.startTime !== null) return startTime === holder.startTime ? holder.pid : null;
  const command = await processCommand(holder.pid);
  return command === null || looksLikeHolder.test(command) ? holder.pid : null;
}

/**
 * Takes the lock when no live process holds it: the file is created exclusively and holds this
 * process's pid and start time. Returns the release function, or the live holder's pid.
 */
export async function tryLock(
  file: string,
  looksLikeHolder: RegExp,
): Promise<{ release(): Promise<void> } | { heldBy: number }> {
  const content = `${process.pid} ${(await processStartTime(process.pid)) ?? ''}`.trim();
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o644);
      await handle.writeFile(`${content}\n`);
      await handle.close();
      return { release: () => rm(file, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await lockHolder(file, looksLikeHolder);
      if (holder !== null) return { heldBy: holder };
      // Stale: removed, then created anew above; whoever creates it first holds it.
      await rm(file, { force: true });
    }
  }
}
