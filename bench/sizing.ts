/**
 * Figures for the README's sizing note (issue 16): for each kind of request, what one gateway
 * serves per CPU-second it uses (≈ requests/s per vCPU), its memory, and its database connections.
 *
 *   npm run bench:sizing -- [--duration 10] [--workers N] [--skip-build]
 *
 * The gateway's CPU time is read from /proc for its process and every descendant (WORKERS=N
 * workers), so the figure is the gateway's own cost, not the machine's: PostgreSQL and the load
 * generator share the cores, and their share is printed beside it.
 */
import 'reflect-metadata';
import { readFileSync, readdirSync } from 'node:fs';
import type http from 'node:http';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import {
  ADMIN_URL,
  DATABASE,
  build,
  databaseUrl,
  createDatabase,
  login,
  seed,
  startGateway,
  upstream,
  PASSWORD,
  type Seed,
  type Server,
} from './lib/environment';
import { closedLoop, graphqlBody, load, send, type Run } from './lib/load';
import { stopAll } from './lib/processes';
import { Proxies } from './lib/proxies';
import { describeMachine, machineLine } from './lib/report';
import { pageBodies } from './scenarios/member-page';
import type { BenchContext } from './lib/context';

const CLOCK_TICKS_PER_SECOND = 100;
const SAMPLE_MS = 200;

type Usage = { cpuSeconds: number; rssBytes: number; processes: number };

function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** CPU time and resident memory of a process and all its descendants, now. */
function usageOf(root: number): Usage {
  const pids = [root];
  for (let i = 0; i < pids.length; i++) pids.push(...childrenOf(pids[i]));
  let ticks = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      rssBytes += rss ? Number(rss[1]) * 1024 : 0;
    } catch {
      // The process ended while we looked.
    }
  }
  return { cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND, rssBytes, processes: pids.length };
}

/** Busy and total jiffies of the whole machine. */
function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  const total = cpu.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

async function databaseConnections(): Promise<number> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [DATABASE],
    );
    return rows[0].n;
  } finally {
    await client.end();
  }
}

type Measured = {
  name: string;
  run: Run;
  perCpuSecond: number;
  gatewayCores: number;
  machineBusy: number;
  peakRssMiB: number;
  peakConnections: number;
};

/** Runs `work` while sampling the gateway's memory and connections; answers its share of the CPU. */
async function measure(name: string, gateway: Server, work: () => Promise<Run>): Promise<Measured> {
  const pid = gateway.child.process.pid as number;
  let peakRss = 0;
  let peakConnections = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRss = Math.max(peakRss, usageOf(pid).rssBytes);
      peakConnections = Math.max(peakConnections, await databaseConnections());
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
  })();
  const before = usageOf(pid);
  const machineBefore = machineTicks();
  const started = Date.now();
  const run = await work();
  const seconds = (Date.now() - started) / 1000;
  const after = usageOf(pid);
  const machineAfter = machineTicks();
  sampling = false;
  await sampler;
  const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
  const served = run.rps * seconds;
  const measured: Measured = {
    name,
    run,
    perCpuSecond: served / cpuSeconds,
    gatewayCores: cpuSeconds / seconds,
    machineBusy: (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
    peakRssMiB: peakRss / 1024 ** 2,
    peakConnections,
  };
  console.log(
    `  ${name}: ${run.rps.toFixed(0)} req/s using ${measured.gatewayCores.toFixed(2)} cores of the gateway → ` +
      `${measured.perCpuSecond.toFixed(0)} req per gateway CPU-second; machine ${(measured.machineBusy * 100).toFixed(0)}% busy; ` +
      `peak RSS ${measured.peakRssMiB.toFixed(0)} MiB; peak connections ${peakConnections}; p99 ${run.p99.toFixed(1)} ms; ${run.failures} failed`,
  );
  return measured;
}

const ME = graphqlBody({ query: '{ me { id email } }' });
const LOGIN = `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`;
const REFRESH = `mutation ($token: String!) { refreshSession(refreshToken: $token) { refreshToken } }`;

async function workloads(gateway: Server, seeded: Seed, seconds: number): Promise<Measured[]> {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const context = { seed: seeded } as BenchContext;
  const pages = await pageBodies(context, gateway);
  const results: Measured[] = [];
  const autocannon = (requests: Parameters<typeof load>[0]['requests']) => () =>
    load({ url: gateway.url, connections: 10, durationSeconds: seconds, requests });
  results.push(
    await measure('me', gateway, autocannon([{ path: '/graphql', body: ME, headers: bearer(seeded.ownerToken) }])),
  );
  results.push(
    await measure(
      'member page (100 members)',
      gateway,
      autocannon(pages.map((body) => ({ path: '/graphql', body, headers: bearer(seeded.ownerToken) }))),
    ),
  );
  results.push(
    await measure(
      '/auth/check',
      gateway,
      autocannon([{ method: 'GET', path: '/auth/check', headers: bearer(seeded.grantedToken) }]),
    ),
  );
  results.push(
    await measure(
      'login (bcrypt cost 10)',
      gateway,
      autocannon(
        seeded.memberEmails.slice(0, 4).map((email) => ({
          path: '/graphql',
          body: graphqlBody({ query: LOGIN, variables: { email, password: PASSWORD } }),
        })),
      ),
    ),
  );
  const chains = await Promise.all(
    seeded.memberEmails.slice(10, 20).map(async (email) => (await login(gateway, email)).refreshToken),
  );
  results.push(
    await measure('refreshSession', gateway, () =>
      closedLoop(10, seconds, async (worker, agent: http.Agent) => {
        const answer = await send(agent, gateway.url, {
          path: '/graphql',
          body: graphqlBody({ query: REFRESH, variables: { token: chains[worker] } }),
        });
        const next = answer.status === 200 ? JSON.parse(answer.body).data?.refreshSession?.refreshToken : undefined;
        if (!next) return false;
        chains[worker] = next;
        return true;
      }),
    ),
  );
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      workers: { type: 'string', default: '1' },
      'skip-build': { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.duration);
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
  await client.end();
  console.log(`machine: ${machineLine(describeMachine(version))}; WORKERS=${values.workers}`);
  if (!values['skip-build']) await build();
  await createDatabase();
  const proxies = Proxies.start();
  const gateway = await startGateway(proxies, 'gateway', { WORKERS: values.workers });
  const idle = usageOf(gateway.child.process.pid as number);
  const idleConnections = await databaseConnections();
  console.log(
    `idle after start: ${(idle.rssBytes / 1024 ** 2).toFixed(0)} MiB RSS in ${idle.processes} process(es), ${idleConnections} database connections (${databaseUrl(upstream().host, upstream().port)})`,
  );
  console.log('seeding an org of 1,000 members…');
  const seeded = await seed(gateway);
  const results = await workloads(gateway, seeded, seconds);
  console.log(
    '\n| request | req/s (10 connections) | gateway cores used | req per gateway CPU-second | p99 | peak RSS | peak DB connections |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const m of results) {
    console.log(
      `| ${m.name} | ${m.run.rps.toFixed(0)} | ${m.gatewayCores.toFixed(2)} | ${m.perCpuSecond.toFixed(0)} | ${m.run.p99.toFixed(0)} ms | ${m.peakRssMiB.toFixed(0)} MiB | ${m.peakConnections} |`,
    );
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
