import { randomUUID } from 'node:crypto';
import { cp, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { binariesIn, type PostgresBinaries } from './binaries';
import { firstUnreachable, type DataDirLayout } from './data-dir';
import type { ServerUser } from './server-user';

/**
 * The server's binaries where its OS user can run them. Under root the server runs as `postgres`,
 * which cannot enter a project checked out under a private folder (a home directory, a mktemp
 * folder); the binaries are then copied, once per version, into DATA_DIR, which that user must
 * reach anyway and which only root may write.
 */
export async function reachableBinaries(
  installed: PostgresBinaries,
  layout: DataDirLayout,
  user: ServerUser,
): Promise<PostgresBinaries> {
  if ((await firstUnreachable(path.join(installed.native, 'bin'), user)) === null) return installed;
  const copy = path.join(layout.binariesCopy, installed.version);
  if (!(await stat(path.join(copy, 'bin')).catch(() => null))) {
    // Unique per call: two opens in one process may copy at once.
    const partial = `${copy}.partial-${randomUUID()}`;
    // Symbolic links stay links: the libraries' versioned names point at one file.
    await cp(installed.native, partial, { recursive: true, verbatimSymlinks: true });
    await rename(partial, copy).catch(async (error: NodeJS.ErrnoException) => {
      // Another process copied the same version meanwhile: its copy serves.
      await rm(partial, { recursive: true, force: true });
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  }
  return binariesIn(copy, installed.version);
}
