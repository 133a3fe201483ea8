import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type SpawnedScript = {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Settles once the process has exited and its output is complete. */
  exited: Promise<Exit>;
  isRunning(): boolean;
  /** SIGKILL if it still runs, then waits for it: for afterAll. */
  forceStop(): Promise<void>;
};

/**
 * The environment a newcomer's shell would give the gateway: this one without the settings that
 * select PostgreSQL or bootstrap an owner, and without the NODE_ENV=test that jest sets.
 */
export function gatewayEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name === 'DATABASE_URL' || name === 'SECRET_KEY' || name === 'NODE_ENV' || name.startsWith('BOOTSTRAP_')) {
      delete env[name];
    }
  }
  return { ...env, ...overrides };
}

/** Runs a TypeScript entry point of the repository as `npm run dev` does: ts-node, transpile only. */
export function spawnScript(script: string, args: string[], env: NodeJS.ProcessEnv): SpawnedScript {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', script, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let running = true;
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    isRunning: () => running,
    async forceStop() {
      if (!running) return;
      child.kill('SIGKILL');
      await exited.catch(() => undefined);
    },
  };
}

/** Runs a script to completion; SIGKILLs it and fails if it outlives the timeout. */
export async function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<Exit & { stdout: string; stderr: string }> {
  const spawned = spawnScript(script, args, env);
  const exit = await withTimeout(spawned.exited, timeoutMs, () => `${script} ${args.join(' ')} did not exit`).finally(
    () => spawned.forceStop(),
  );
  return { ...exit, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

/** A port nothing listens on right now: the kernel's pick for port 0, released again. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answersHealthy(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/healthz`);
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Polls GET /healthz until it answers 200; fails early, with the output, if the process exits. */
export async function waitForHealthy(spawned: SpawnedScript, baseUrl: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!spawned.isRunning()) {
      throw new Error(`the gateway exited before it was healthy:\n${spawned.stdout()}\n${spawned.stderr()}`);
    }
    if (await answersHealthy(baseUrl)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the gateway was not healthy after ${timeoutMs} ms:\n${spawned.stdout()}\n${spawned.stderr()}`);
}

export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${describe()} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
