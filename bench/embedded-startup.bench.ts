/**
 * The newcomer's first start and the footprint of the embedded default: `portcullis serve` (the
 * compiled build, as `npm start` runs it) on an empty DATA_DIR, timed from spawn to a healthy
 * /healthz, then a restart on the same folder; after 10 s idle, the resident memory of the gateway
 * and of every process of its PostgreSQL server (RSS, and PSS, which splits the server's shared
 * memory fairly between its processes). Targets: first start ≤ 10 s, idle total ≤ 256 MB.
 *
 *   npm run build && npm run bench:startup
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, REPO_ROOT } from '../test/support/spawn-gateway';

const IDLE_MS = 10_000;

async function healthy(url: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ok = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the gateway did not become healthy');
}

async function startServe(dataDir: string): Promise<{ child: ChildProcess; url: string; seconds: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'portcullis.js'), 'serve'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await healthy(url, Date.now() + 120_000);
  return { child, url, seconds: (performance.now() - started) / 1000 };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** kB of a process: Rss and Pss from /proc/<pid>/smaps_rollup. */
async function memoryOf(pid: number): Promise<{ rss: number; pss: number }> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
  return { rss: field('Rss'), pss: field('Pss') };
}

/** The postmaster of the folder and its children (checkpointer, walwriter, backends...). */
async function serverProcesses(dataDir: string): Promise<number[]> {
  const postmaster = Number((await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === postmaster) children.push(Number(entry));
  }
  return [postmaster, ...children];
}

const mb = (kB: number) => `${(kB / 1024).toFixed(0)} MB`;

async function main() {
  const workspace = await mkdtemp(path.join(tmpdir(), 'portcullis-startup-bench-'));
  await chmod(workspace, 0o755);
  const dataDir = path.join(workspace, 'data');
  try {
    const first = await startServe(dataDir);
    process.stdout.write(`first start (initdb, migrations, first owner): ${first.seconds.toFixed(2)} s\n`);
    await stop(first.child);
    const again = await startServe(dataDir);
    process.stdout.write(`restart on the same DATA_DIR:                  ${again.seconds.toFixed(2)} s\n`);
    // One request, so the pool has opened a connection, as any use would.
    await fetch(`${again.url}/readyz`);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));

    const gateway = await memoryOf(again.child.pid as number);
    const server = await Promise.all((await serverProcesses(dataDir)).map(memoryOf));
    const serverRss = server.reduce((sum, process) => sum + process.rss, 0);
    const serverPss = server.reduce((sum, process) => sum + process.pss, 0);
    process.stdout.write(
      [
        `idle after ${IDLE_MS / 1000} s:`,
        `  gateway (node):            RSS ${mb(gateway.rss)}, PSS ${mb(gateway.pss)}`,
        `  PostgreSQL (${server.length} processes): RSS ${mb(serverRss)} summed, PSS ${mb(serverPss)}`,
        `  total:                     PSS ${mb(gateway.pss + serverPss)} (RSS summed ${mb(gateway.rss + serverRss)}, which counts shared pages once per process)`,
        '',
      ].join('\n'),
    );
    await stop(again.child);
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
