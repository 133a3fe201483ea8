import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { binariesIn, postgresBinaries } from '../../src/core/db/embedded/binaries';
import { dataDirLayout } from '../../src/core/db/embedded/data-dir';
import { reachableBinaries } from '../../src/core/db/embedded/reachable-binaries';
import { serverUser } from '../../src/core/db/embedded/server-user';

/**
 * Under root the server runs as the OS user postgres: binaries installed under a folder that user
 * cannot enter (a project cloned into a mktemp folder) are copied into DATA_DIR and run from there.
 */

const runsAsRoot = process.getuid?.() === 0;
let workspace: string;

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'portcullis-binaries-'));
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

(runsAsRoot ? it : it.skip)(
  'copies unreachable binaries into DATA_DIR once, where the server user runs them',
  async () => {
    const installed = postgresBinaries();
    const closed = path.join(workspace, 'closed');
    await mkdir(closed, { mode: 0o700 });
    await cp(installed.native, path.join(closed, 'native'), { recursive: true, verbatimSymlinks: true });
    const hidden = binariesIn(path.join(closed, 'native'), installed.version);
    const dataDir = path.join(workspace, 'data');
    await mkdir(dataDir);
    await chmod(workspace, 0o755);
    await chmod(dataDir, 0o711);
    const layout = dataDirLayout(dataDir);
    const user = await serverUser();

    const usable = await reachableBinaries(hidden, layout, user);
    expect(usable.initdb).toBe(path.join(dataDir, 'postgres-binaries', installed.version, 'bin', 'initdb'));
    const { stdout } = await promisify(execFile)(usable.postgres, ['--version'], { uid: user.uid, gid: user.gid });
    expect(stdout).toContain(`PostgreSQL) ${installed.majorVersion}`);
    // The second time the copy is found, not made again.
    expect(await reachableBinaries(hidden, layout, user)).toEqual(usable);
  },
);
