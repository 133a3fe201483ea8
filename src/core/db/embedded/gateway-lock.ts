import type { DataDirLayout } from './data-dir';
import { DataDirError } from './data-dir';
import { lockHolder, tryLock } from './pid-lock';

/** `portcullis serve` compiled or from the sources (`npm run dev`, the tests). */
const GATEWAY_COMMAND = /portcullis|src\/(main|cli)\.[jt]s/;

/** The live gateway serving this DATA_DIR, if any. */
export function liveGateway(layout: DataDirLayout): Promise<number | null> {
  return lockHolder(layout.lockFile, GATEWAY_COMMAND);
}

/** One gateway per DATA_DIR, held for the gateway's lifetime. Returns the release function. */
export async function lockForGateway(layout: DataDirLayout): Promise<() => Promise<void>> {
  const lock = await tryLock(layout.lockFile, GATEWAY_COMMAND);
  if ('heldBy' in lock) {
    throw new DataDirError(
      layout,
      `is in use by the gateway with pid ${lock.heldBy}: stop it, or set another DATA_DIR.`,
    );
  }
  return lock.release;
}

const ANY_COMMAND = /./;
const START_LOCK_WAIT_MS = 120_000;

/**
 * Serialises, between the gateway and the admin commands, everything that changes whether the
 * server exists or runs: initialising the folder, starting, adopting and stopping the server.
 */
export async function withStartLock<T>(layout: DataDirLayout, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + START_LOCK_WAIT_MS;
  for (;;) {
    const lock = await tryLock(layout.startLockFile, ANY_COMMAND);
    if ('release' in lock) {
      try {
        return await work();
      } finally {
        await lock.release();
      }
    }
    if (Date.now() > deadline) {
      throw new DataDirError(layout, `is being started or stopped by process ${lock.heldBy}, which does not finish.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
