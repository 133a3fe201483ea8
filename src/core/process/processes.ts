import { readFile } from 'node:fs/promises';

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user (the server's user, under root it is not).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's command line where /proc tells it (Linux); null where it cannot be known. */
export async function processCommand(pid: number): Promise<string | null> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  return raw === null ? null : raw.split('\0').join(' ');
}

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses),
 * so field N of proc(5) is at index N - 3; null where /proc is not available.
 */
async function statFields(pid: number): Promise<string[] | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat === null ? null : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * When a process started, in clock ticks since boot (field 22): with the pid it names one process
 * for good, as pids are reused. Null where /proc is not available.
 */
export async function processStartTime(pid: number): Promise<string | null> {
  return (await statFields(pid))?.[19] ?? null;
}

/** A process's parent pid (field 4); null where /proc cannot tell. */
export async function parentOf(pid: number): Promise<number | null> {
  const parent = Number((await statFields(pid))?.[1]);
  return Number.isInteger(parent) && parent > 0 ? parent : null;
}
