import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PostgresBinaries } from './binaries';
import { runAs, type ServerUser } from './server-user';

/** Where everything of the embedded database lives inside DATA_DIR. */
export type DataDirLayout = {
  root: string;
  /** The PostgreSQL cluster (owned by the server's OS user). */
  cluster: string;
  /** The server's own log, inside the cluster folder because the server's user writes it. */
  serverLog: string;
  /** The password of the `postgres` database user: the server listens on loopback TCP. */
  passwordFile: string;
  /** SECRET_KEY's stand-in when it is not set. */
  secretKeyFile: string;
  /** Says that this folder is Portcullis's and whether its first initialisation completed. */
  marker: string;
  /** The running gateway's pid (gateway-lock.ts). */
  lockFile: string;
  /** A copy of the server's binaries, when the server's OS user cannot reach the installed ones. */
  binariesCopy: string;
  /** Held while a process initialises the folder or starts, adopts or stops its server. */
  startLockFile: string;
};

export function dataDirLayout(dataDir: string): DataDirLayout {
  const root = path.resolve(dataDir);
  const cluster = path.join(root, 'postgres');
  return {
    root,
    cluster,
    serverLog: path.join(cluster, 'server.log'),
    passwordFile: path.join(root, 'postgres.password'),
    secretKeyFile: path.join(root, 'secret.key'),
    marker: path.join(root, 'portcullis.json'),
    lockFile: path.join(root, 'portcullis.pid'),
    binariesCopy: path.join(root, 'postgres-binaries'),
    startLockFile: path.join(root, 'portcullis.start.lock'),
  };
}

/** A DATA_DIR the gateway must not use: the message names the folder and what is wrong. */
export class DataDirError extends Error {
  constructor(layout: DataDirLayout, problem: string) {
    super(`DATA_DIR ${layout.root} ${problem}`);
    this.name = 'DataDirError';
  }
}

type Marker = { format: 1; state: 'initialising' | 'ready'; postgresMajor?: number; secretKeyFile?: boolean };

export const DAMAGED =
  'Portcullis will not create a new database over it, which would hide every account: restore the folder from a backup, or move it away to start afresh.';

async function readMarker(layout: DataDirLayout): Promise<Marker | null> {
  const text = await readFile(layout.marker, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (text === null) return null;
  try {
    const marker = JSON.parse(text) as Marker;
    if (marker.format === 1 && (marker.state === 'initialising' || marker.state === 'ready')) return marker;
  } catch {
    // Reported below, as any unreadable marker.
  }
  throw new DataDirError(layout, `is damaged: ${path.basename(layout.marker)} is unreadable. ${DAMAGED}`);
}

async function entriesOf(folder: string): Promise<string[] | null> {
  return readdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
}

/** What is wrong with a file the folder needs, in the words of the refusal; null when nothing. */
async function fileProblem(file: string): Promise<string | null> {
  try {
    const found = await stat(file);
    if (!found.isFile()) return 'is not a file';
    if (found.size === 0) return 'is empty';
    await (await open(file, 'r')).close();
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'is missing';
    if (code === 'EACCES' || code === 'EPERM') return 'cannot be read by this user (permission denied)';
    throw error;
  }
}

/**
 * Whether DATA_DIR needs its first initialisation ('fresh') or holds a complete database
 * ('ready'). Anything else — a folder that lost a file, another program's folder, data of
 * another PostgreSQL version — is refused, never initialised over.
 */
export async function inspectDataDir(
  layout: DataDirLayout,
  binaries: PostgresBinaries,
  secretKeySet: boolean,
): Promise<'fresh' | 'ready'> {
  const folder = await stat(layout.root).catch(() => null);
  if (folder && !folder.isDirectory()) throw new DataDirError(layout, 'is not a folder.');
  // The locks are taken before the folder is looked at again under them.
  const locks = [layout.lockFile, layout.startLockFile, layout.binariesCopy].map((file) => path.basename(file));
  const entries = (await entriesOf(layout.root))?.filter((entry) => !locks.includes(entry));
  if (!entries || entries.length === 0) return 'fresh';
  const marker = await readMarker(layout);
  if (!marker) {
    if (entries.includes('pgdata')) {
      throw new DataDirError(
        layout,
        'holds a database of an earlier Portcullis (PGlite), which the embedded PostgreSQL server cannot open: move it away to start afresh, or use DATABASE_URL.',
      );
    }
    throw new DataDirError(
      layout,
      `is not a Portcullis data folder (it is not empty and has no ${path.basename(layout.marker)}): choose an empty or new folder as DATA_DIR.`,
    );
  }
  // A first start that was cut before its cluster existed is redone; once the cluster exists it
  // may hold data (a restored or hand-edited marker), and nothing is ever initialised over it.
  if (marker.state === 'initialising') {
    if (!(await entriesOf(layout.cluster).catch(() => ['unreadable']))) return 'fresh';
    throw new DataDirError(
      layout,
      `is damaged: ${path.basename(layout.marker)} says its first start did not finish, but it holds a cluster. ${DAMAGED}`,
    );
  }
  const problem = await firstProblem(layout, marker);
  if (problem?.endsWith('(permission denied)')) {
    throw new DataDirError(layout, `cannot be used: ${problem}; run the gateway as the user that created the folder.`);
  }
  if (problem) throw new DataDirError(layout, `is damaged: ${problem}. ${DAMAGED}`);
  const version = (await readFile(path.join(layout.cluster, 'PG_VERSION'), 'utf8')).trim();
  if (version !== String(binaries.majorVersion)) {
    throw new DataDirError(
      layout,
      `holds PostgreSQL ${version} data, and this Portcullis runs PostgreSQL ${binaries.majorVersion}: upgrade it with pg_upgrade or dump and restore it.`,
    );
  }
  if (!marker.secretKeyFile && !secretKeySet) {
    throw new DataDirError(layout, 'was created with SECRET_KEY set, which encrypts its signing keys: set it again.');
  }
  return 'ready';
}

async function firstProblem(layout: DataDirLayout, marker: Marker): Promise<string | null> {
  const required = [
    path.join(layout.cluster, 'PG_VERSION'),
    path.join(layout.cluster, 'global', 'pg_control'),
    path.join(layout.cluster, 'postgresql.conf'),
    path.join(layout.cluster, 'pg_hba.conf'),
    layout.passwordFile,
    ...(marker.secretKeyFile ? [layout.secretKeyFile] : []),
  ];
  for (const file of required) {
    const problem = await fileProblem(file);
    if (problem) return `${path.relative(layout.root, file)} ${problem}`;
  }
  for (const folder of ['base', 'global', 'pg_wal']) {
    const entries = await entriesOf(path.join(layout.cluster, folder)).catch(() => null);
    if (!entries || entries.length === 0)
      return `${path.relative(layout.root, path.join(layout.cluster, folder))} is missing`;
  }
  return null;
}

/**
 * Under root the server runs as another OS user, which must be able to enter every folder above
 * its cluster: checked here so that the refusal names the folder rather than initdb's failure.
 */
export async function assertReachableByServer(layout: DataDirLayout, user: ServerUser): Promise<void> {
  const folder = await firstUnreachable(path.dirname(layout.root), user);
  if (folder) {
    throw new DataDirError(
      layout,
      `is inside ${folder}, which the OS user that runs the embedded PostgreSQL server (PostgreSQL refuses root) cannot enter: let it (chmod o+x ${folder}), choose another DATA_DIR, or run the gateway as another user than root.`,
    );
  }
}

/** The first folder from `start` up to `/` that the server's OS user cannot enter, if any. */
export async function firstUnreachable(start: string, user: ServerUser): Promise<string | null> {
  if (user.uid === undefined) return null;
  for (let folder = start; ; folder = path.dirname(folder)) {
    const found = await stat(folder);
    const bit = found.uid === user.uid ? 0o100 : found.gid === user.gid ? 0o010 : 0o001;
    if ((found.mode & bit) === 0) return folder;
    if (folder === path.dirname(folder)) return null;
  }
}

async function writeMarker(layout: DataDirLayout, marker: Marker): Promise<void> {
  const next = `${layout.marker}.next`;
  await writeFile(next, `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o600 });
  await rename(next, layout.marker);
}

/**
 * Creates the cluster, its password and (without SECRET_KEY) the secret key. The marker says
 * 'initialising' until all of it exists, so an interrupted first start is redone rather than
 * mistaken for a damaged folder, and a finished one is never redone.
 */
export async function initialiseDataDir(
  layout: DataDirLayout,
  binaries: PostgresBinaries,
  user: ServerUser,
  secretKeySet: boolean,
): Promise<void> {
  await mkdir(layout.root, { recursive: true, mode: 0o700 });
  // The server's OS user must reach its cluster inside the folder, without listing it.
  if (user.uid !== undefined) await chmod(layout.root, 0o711);
  await writeMarker(layout, { format: 1, state: 'initialising' });
  const partial = `${layout.cluster}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { mode: 0o700 });
  if (user.uid !== undefined) await chown(partial, user.uid, user.gid ?? user.uid);

  const password = randomBytes(24).toString('base64url');
  await writeFile(layout.passwordFile, `${password}\n`, { mode: 0o600 });
  const passwordDir = await mkdtemp(path.join(tmpdir(), 'portcullis-initdb-'));
  const pwfile = path.join(passwordDir, 'password');
  try {
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (user.uid !== undefined) {
      await chown(passwordDir, user.uid, user.gid ?? user.uid);
      await chown(pwfile, user.uid, user.gid ?? user.uid);
    }
    await runAs(user, binaries.initdb, [
      `--pgdata=${partial}`,
      '--username=postgres',
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      // Unicode-aware lower() and ordering, the same on every OS: emails are unique by lower().
      '--locale=C',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
    ]).catch((error: Error) => {
      throw new DataDirError(layout, `could not be initialised by PostgreSQL's initdb:\n${error.message}`);
    });
  } finally {
    await rm(passwordDir, { recursive: true, force: true });
  }
  await rename(partial, layout.cluster);
  if (!secretKeySet) {
    await writeFile(layout.secretKeyFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  }
  await writeMarker(layout, {
    format: 1,
    state: 'ready',
    postgresMajor: binaries.majorVersion,
    secretKeyFile: !secretKeySet,
  });
}

export async function readPassword(layout: DataDirLayout): Promise<string> {
  return (await readFile(layout.passwordFile, 'utf8')).trim();
}
