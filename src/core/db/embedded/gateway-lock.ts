import { mkdir, open, readFile, rm } from 'node:fs/promises';
import type { DataDirLayout } from './data-dir';
import { DataDirError } from './data-dir';
import { isProcessAlive, processCommand, processStartTime } from './processes';

/** `portcullis serve` compiled or from the sources (`npm run dev`, the tests). */
const GATEWAY_COMMAND = /portcullis|src\/(main|cli)\.[jt]s/;

type Holder = { pid: number; startTime: string | null };

async function readHolder(layout: DataDirLayout): Promise<Holder | null> {
  const text = await readFile(layout.lockFile, 'utf8').catch(() => null);
  if (text === null) return null;
  const [pid, startTime] = text.trim().split(/\s+/);
  return Number.isInteger(Number(pid)) && Number(pid) > 0 ? { pid: Number(pid), startTime: startTime ?? null } : null;
}

/**
 * The live gateway serving this DATA_DIR, if any. A pid file whose process has died, or whose pid
 * now names another process (its start time differs: pids are reused, in containers at once),
 * names no gateway.
 */
export async function liveGateway(layout: DataDirLayout): Promise<number | null> {
  const holder = await readHolder(layout);
  if (!holder || holder.pid === process.pid || !isProcessAlive(holder.pid)) return null;
  const startTime = await processStartTime(holder.pid);
  if (startTime !== null && holder.startTime !== null) return startTime === holder.startTime ? holder.pid : null;
  // A pid file without a start time: believe it only if the process looks like a gateway.
  const command = await processCommand(holder.pid);
  return command === null || GATEWAY_COMMAND.test(command) ? holder.pid : null;
}

/**
 * One gateway per DATA_DIR: its pid file holds the pid and the process's start time. Returns the
 * release function.
 */
export async function lockForGateway(layout: DataDirLayout): Promise<() => Promise<void>> {
  await mkdir(layout.root, { recursive: true, mode: 0o700 });
  const content = `${process.pid} ${(await processStartTime(process.pid)) ?? ''}`.trim();
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(layout.lockFile, 'wx', 0o644);
      await handle.writeFile(`${content}\n`);
      await handle.close();
      return () => rm(layout.lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await liveGateway(layout);
      if (holder !== null) {
        throw new DataDirError(
          layout,
          `is in use by the gateway with pid ${holder}: stop it, or set another DATA_DIR.`,
        );
      }
      await rm(layout.lockFile, { force: true });
    }
  }
  throw new DataDirError(layout, 'could not be locked: another gateway is starting on it.');
}
