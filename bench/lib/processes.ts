/**
 * Child processes of a bench run: every one is registered and killed when the run ends, fails or
 * is interrupted (Ctrl-C), so no server outlives the bench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export type Child = {
  name: string;
  process: ChildProcess;
  /** The last lines it wrote, for an error message. */
  output(): string;
  stop(): Promise<void>;
};

const children = new Set<Child>();
const tempDirs: string[] = [];
const cleanUps: Array<() => Promise<void>> = [];

/** Work to do once at the end of the run (dropping the database), after the children are stopped. */
export function onCleanUp(work: () => Promise<void>): void {
  cleanUps.push(work);
}

/** Stops every child (SIGTERM, then SIGKILL after 5 s) and runs the clean-ups, newest first. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop()));
  for (const work of cleanUps.splice(0).reverse()) {
    await work().catch((error: unknown) => console.error('clean-up failed:', error));
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: stopping servers and dropping the bench database…`);
    void stopAll().finally(() => process.exit(130));
  });
}
// A crash still takes the children with it (the database is dropped on the next run's start).
process.on('exit', () => {
  for (const child of children) child.process.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A temporary folder, removed when the run ends however it ends. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `node <args>` in the repository with the given environment added. */
export function startChild(name: string, args: string[], env: Record<string, string>, ipc = false): Child {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const handle: Child = {
    name,
    process: child,
    output: () => tail,
    async stop() {
      children.delete(handle);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  children.add(handle);
  return handle;
}

/** A TypeScript entry point of the bench, run as the existing benches are: ts-node, transpile only. */
export function startScript(name: string, script: string, env: Record<string, string>, ipc = false): Child {
  return startChild(name, ['-r', 'ts-node/register/transpile-only', script], env, ipc);
}

/** Waits until `url` answers 2xx, failing with the child's output if it exits or takes too long. */
export async function waitUntilUp(child: Child, url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited:\n${child.output()}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${child.name} did not come up at ${url} within ${timeoutMs} ms:\n${child.output()}`);
}
