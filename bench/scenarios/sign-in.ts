/**
 * Sign-in and refresh: a login storm against /healthz latency and raw bcrypt, refreshSession
 * chains, and 50 concurrent sign-ins to one org on two gateway processes.
 */
import { spawn } from 'node:child_process';
import type http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { BCRYPT_COST, login, PASSWORD } from '../lib/environment';
import { graphqlBody, load, percentile, send, closedLoop, type Run } from '../lib/load';
import { statementsPerRequest, type BenchContext, type Scenario } from '../lib/context';
import { figures, median, row, spread } from '../lib/report';

const LOGIN = `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`;
const REFRESH = `mutation ($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }`;
const PROBE_INTERVAL_MS = 10;

/**
 * The threads the gateway hashes passwords on: `--bcrypt-threads`, else BCRYPT_CONCURRENCY as the
 * gateway inherits it, else the gateway's own default (a bounded pool: cores − 1), else, for a
 * gateway without that pool, libuv's (UV_THREADPOOL_SIZE, default 4).
 */
export function gatewayHashThreads(option?: number): number {
  if (option) return option;
  if (process.env.BCRYPT_CONCURRENCY) return Number(process.env.BCRYPT_CONCURRENCY);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hasher = require('../../src/core/crypto/password-hasher') as { defaultHashConcurrency?: () => number };
  return hasher.defaultHashConcurrency?.() ?? Number(process.env.UV_THREADPOOL_SIZE ?? 4);
}

function probeWhile<T>(url: string, work: () => Promise<T>): Promise<{ result: T; latencies: number[] }> {
  const worker = new Worker(path.join(__dirname, '../lib/healthz-prober.mjs'), {
    workerData: { url, intervalMs: PROBE_INTERVAL_MS },
  });
  const latencies = new Promise<number[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return work().then(
    async (result) => {
      worker.postMessage('stop');
      const measured = await latencies;
      await worker.terminate();
      return { result, latencies: measured.sort((a, b) => a - b) };
    },
    async (error: unknown) => {
      await worker.terminate();
      throw error;
    },
  );
}

function bcryptRate(threads: number, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, '../lib/bcrypt-rate.mjs')], {
      env: {
        ...process.env,
        UV_THREADPOOL_SIZE: String(threads),
        THREADS: String(threads),
        SECONDS: String(seconds),
        COST: String(BCRYPT_COST),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('close', (code) =>
      code === 0
        ? resolve((JSON.parse(out) as { rate: number }).rate)
        : reject(new Error(`bcrypt-rate exited ${code}`)),
    );
  });
}

export function loginStorm(bcryptThreads?: number): Scenario {
  return {
    name: 'login-storm',
    describe:
      'login mutations at 10 connections (bcrypt cost 10, 4 accounts) while /healthz is probed every 10 ms; vs raw bcrypt.compare',
    async run(context) {
      const { gateway } = context;
      const threads = gatewayHashThreads(bcryptThreads);
      const bodies = context.seed.memberEmails
        .slice(0, 4)
        .map((email) => graphqlBody({ query: LOGIN, variables: { email, password: PASSWORD } }));
      const idle = await probeWhile(
        `${gateway.url}/healthz`,
        () => new Promise((resolve) => setTimeout(resolve, 2000)),
      );
      const storms: Run[] = [];
      const probes: number[][] = [];
      const raw: number[] = [];
      for (let round = 0; round < context.options.rounds; round++) {
        const storm = await probeWhile(`${gateway.url}/healthz`, () =>
          load({
            url: gateway.url,
            connections: 10,
            durationSeconds: context.options.durationSeconds,
            requests: bodies.map((body) => ({ path: '/graphql', body })),
          }),
        );
        storms.push(storm.result);
        probes.push(storm.latencies);
        raw.push(await bcryptRate(threads, Math.min(5, context.options.durationSeconds)));
        console.log(
          `  login-storm round ${round + 1}: ${storm.result.rps.toFixed(1)} logins/s; /healthz p50 ${percentile(storm.latencies, 50).toFixed(1)} ms, p99 ${percentile(storm.latencies, 99).toFixed(1)} ms, max ${storm.latencies.at(-1)?.toFixed(1)} ms (${storm.latencies.length} probes); raw bcrypt ${raw.at(-1)?.toFixed(1)}/s on ${threads} threads`,
        );
      }
      const p99s = probes.map((latencies) => percentile(latencies, 99));
      const ratio = storms.map((run, i) => run.rps / raw[i]);
      return [
        row(
          'login-storm',
          '/healthz idle p50 / p99 / max',
          `${percentile(idle.latencies, 50).toFixed(1)} / ${percentile(idle.latencies, 99).toFixed(1)} / ${idle.latencies.at(-1)?.toFixed(1)} ms`,
        ),
        row(
          'login-storm',
          '/healthz during storm p50',
          spread(
            probes.map((l) => percentile(l, 50)),
            'ms',
          ),
        ),
        row('login-storm', '/healthz during storm p99', spread(p99s, 'ms'), '< 20 ms', median(p99s) < 20),
        row(
          'login-storm',
          '/healthz during storm max',
          spread(
            probes.map((l) => l.at(-1) ?? NaN),
            'ms',
          ),
        ),
        row(
          'login-storm',
          'logins/s (refused or failed logins)',
          `${spread(storms.map((r) => r.rps))} (${storms.map((r) => r.failures).join(', ')})`,
        ),
        row('login-storm', `raw bcrypt.compare/s (cost ${BCRYPT_COST}, ${threads} threads)`, spread(raw)),
        row('login-storm', 'logins ÷ raw bcrypt', `${spread(ratio)}×`, '≥ 0.9×', median(ratio) >= 0.9),
      ];
    },
  };
}

async function refreshChains(context: BenchContext, count: number): Promise<string[]> {
  const emails = context.seed.memberEmails.slice(10, 10 + count);
  return Promise.all(emails.map(async (email) => (await login(context.gateway, email)).refreshToken));
}

async function refreshOnce(
  context: BenchContext,
  agent: http.Agent,
  chains: string[],
  worker: number,
): Promise<boolean> {
  const answer = await send(agent, context.gateway.url, {
    path: '/graphql',
    body: graphqlBody({ query: REFRESH, variables: { token: chains[worker] } }),
  });
  if (answer.status !== 200) return false;
  const next = (JSON.parse(answer.body) as { data?: { refreshSession?: { refreshToken: string } } }).data
    ?.refreshSession?.refreshToken;
  if (!next) throw new Error(`refreshSession failed: ${answer.body.slice(0, 300)}`);
  chains[worker] = next;
  return true;
}

export const refresh: Scenario = {
  name: 'refresh',
  describe: 'refreshSession chains (each answer holds the next token), 10 at once; grants/s ÷ 2 vCPU',
  async run(context) {
    const runs: Run[] = [];
    for (let round = 0; round < context.options.rounds; round++) {
      const chains = await refreshChains(context, 10);
      const run = await closedLoop(10, context.options.durationSeconds, (worker, agent) =>
        refreshOnce(context, agent, chains, worker),
      );
      runs.push(run);
      console.log(
        `  refresh round ${round + 1}: ${run.rps.toFixed(0)} grants/s, p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms`,
      );
    }
    const chain = await refreshChains(context, 1);
    const counted = await statementsPerRequest(context, context.gateway, (agent) =>
      refreshOnce(context, agent, chain, 0),
    );
    const perVcpu = runs.map((run) => run.rps / 2);
    return [
      row('refresh', 'grants (10 chains)', figures(runs)),
      row('refresh', 'grants/s per vCPU (÷ 2)', spread(perVcpu), '≥ 500', median(perVcpu) >= 500),
      row('refresh', 'statements/refresh', counted.perRequest.toFixed(2), '≤ 5', counted.perRequest <= 5),
    ];
  },
};

export const concurrentSignIns: Scenario = {
  name: 'concurrent-sign-ins',
  describe: '50 members of one org sign in at once, 25 on each of two gateway processes: wall time and logins/s',
  async run(context) {
    const second = await context.secondGateway();
    const walls: number[] = [];
    const succeeded: number[] = [];
    for (let round = 0; round < context.options.rounds; round++) {
      const emails = context.seed.memberEmails.slice(100 + round * 50, 150 + round * 50);
      const started = performance.now();
      // A refusal (the gateway's bcrypt queue full or timed out) is counted, not fatal.
      const outcomes = await Promise.allSettled(
        emails.map((email, i) => login(i % 2 === 0 ? context.gateway : second, email, context.seed.orgId)),
      );
      walls.push((performance.now() - started) / 1000);
      succeeded.push(outcomes.filter((outcome) => outcome.status === 'fulfilled').length);
      const refusal = outcomes.find((outcome) => outcome.status === 'rejected');
      console.log(
        `  concurrent-sign-ins round ${round + 1}: ${succeeded.at(-1)} of 50 logins in ${walls.at(-1)?.toFixed(2)} s${refusal ? `; first refusal: ${String(refusal.reason).slice(0, 200)}` : ''}`,
      );
    }
    return [
      row('concurrent-sign-ins', 'wall time for 50 (signed in)', `${spread(walls, 's')} (${succeeded.join(', ')})`),
      row('concurrent-sign-ins', 'logins/s', spread(walls.map((wall, i) => succeeded[i] / wall))),
    ];
  },
};
