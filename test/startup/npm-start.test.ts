import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isProcessAlive } from '../../src/core/process/processes';
import { freePort, gatewayEnv, REPO_ROOT, withTimeout } from '../support/spawn-gateway';

/**
 * `npm start` as a container entry point runs it: the compiled build, rebuilt only when sources
 * changed, and SIGTERM sent to npm reaching the gateway, which drains and exits 0 with npm.
 */

jest.setTimeout(240_000);

const BUILT = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');

let workspace: string;

type Started = { npm: ChildProcess; output(): string; exited: Promise<number | null>; url: string };

async function npmStart(): Promise<Started> {
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: gatewayEnv({
      DATA_DIR: path.join(workspace, 'data'),
      PORT: String(port),
      HOST: '127.0.0.1',
      BCRYPT_COST: '4',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  npm.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    if (npm.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not serve:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { npm, output: () => output, exited, url };
}

/** The gateway's pid, from the pid file it holds in DATA_DIR. */
async function gatewayPid(): Promise<number> {
  return Number((await readFile(path.join(workspace, 'data', 'portcullis.pid'), 'utf8')).split(/\s/)[0]);
}

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'portcullis-npm-start-'));
  await chmod(workspace, 0o755);
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

it('builds when the sources are newer than the build, and a SIGTERM to npm stops the gateway with exit 0', async () => {
  // Sources changed after the last build: this start compiles.
  const now = new Date();
  await utimes(path.join(REPO_ROOT, 'src', 'cli.ts'), now, now);
  const started = await npmStart();
  expect(started.output()).toContain('compiling');
  const gateway = await gatewayPid();
  expect(gateway).not.toBe(started.npm.pid);

  started.npm.kill('SIGTERM');
  expect(await withTimeout(started.exited, 30_000, () => 'npm did not exit')).toBe(0);
  expect(isProcessAlive(gateway)).toBe(false);
  expect(started.output()).toContain('"msg":"stopped"');
  await expect(stat(path.join(workspace, 'data', 'postgres', 'postmaster.pid'))).rejects.toMatchObject({
    code: 'ENOENT',
  });
});

it('starts from the existing build when nothing changed', async () => {
  const built = (await stat(BUILT)).mtimeMs;
  const started = await npmStart();
  expect(started.output()).not.toContain('compiling');
  expect((await stat(BUILT)).mtimeMs).toBe(built);
  started.npm.kill('SIGTERM');
  expect(await withTimeout(started.exited, 30_000, () => 'npm did not exit')).toBe(0);
});
