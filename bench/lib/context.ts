/** What every scenario gets, and the statement count of a short sequential run. */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Seed, Server } from './environment';
import type { Proxies } from './proxies';
import type { Row } from './report';

export type Options = { rounds: number; durationSeconds: number };

export type BenchContext = {
  options: Options;
  proxies: Proxies;
  gateway: Server;
  baseline: Server;
  postgraphile: Server;
  seed: Seed;
  /** A second gateway process on the same database (started on first use). */
  secondGateway(): Promise<Server>;
};

export type Scenario = { name: string; describe: string; run(context: BenchContext): Promise<Row[]> };

export const SEQUENTIAL_REQUESTS = 20;

/**
 * Round -1 of every series is a short warm-up whose figures are dropped: JIT, pools and caches
 * warm, so the first measured round is not an outlier.
 */
export function runSeconds(context: BenchContext, round: number): number {
  return round < 0 ? Math.min(3, context.options.durationSeconds) : context.options.durationSeconds;
}

/** How long the idle window is that measures a server's background statements. */
const IDLE_WINDOW_MS = 2000;

export type StatementCount = {
  /** Counted statements ÷ requests, background subtracted (never below 0). */
  perRequest: number;
  /** The same without subtracting anything. */
  raw: number;
  /** Statements per second the idle server ran on its own (timers, the audit chainer…). */
  backgroundPerSecond: number;
  texts: string[];
};

/**
 * Statements per request on one server: a warm-up pass, a wait for quiet, an idle window that
 * measures what the server runs on its own, then `count` requests one after another with the proxy's window open;
 * the idle rate over the run's duration is subtracted. Every request must succeed.
 */
export async function statementsPerRequest(
  context: BenchContext,
  server: Server,
  request: (agent: http.Agent, index: number) => Promise<boolean>,
  count = SEQUENTIAL_REQUESTS,
): Promise<StatementCount> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < Math.min(count, 10); i++) await expectOk(request(agent, i), server);
    await quiesce(context, server);
    await context.proxies.reset(server.proxy);
    const idleStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
    const idle = await context.proxies.read(server.proxy);
    const backgroundPerSecond = idle.statements / ((performance.now() - idleStarted) / 1000);
    await context.proxies.reset(server.proxy, true);
    const started = performance.now();
    for (let i = 0; i < count; i++) await expectOk(request(agent, i), server);
    const counted = await context.proxies.read(server.proxy);
    const background = backgroundPerSecond * ((performance.now() - started) / 1000);
    const result = {
      perRequest: Math.max(0, (counted.statements - background) / count),
      raw: counted.statements / count,
      backgroundPerSecond,
      texts: counted.texts,
    };
    console.log(
      `  statements on ${server.name}: ${result.raw.toFixed(2)}/request raw, ${result.perRequest.toFixed(2)} net of ${backgroundPerSecond.toFixed(2)}/s idle background; ${count} requests ran:\n${statementSummary(counted.texts)}`,
    );
    return result;
  } finally {
    agent.destroy();
  }
}

/**
 * Waits (at most 15 s) until what the server runs on its own is steady, two 1 s windows alike:
 * work left over from a load run (audit rows still being chained) is neither idle background nor
 * the counted requests'. A server may poll all the time, so "steady" rather than "silent".
 */
async function quiesce(context: BenchContext, server: Server): Promise<void> {
  const deadline = performance.now() + 15_000;
  let previous = Infinity;
  while (performance.now() < deadline) {
    await context.proxies.reset(server.proxy);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const current = (await context.proxies.read(server.proxy)).statements;
    if (Math.abs(current - previous) <= Math.max(2, 0.2 * previous)) return;
    previous = current;
  }
}

async function expectOk(outcome: Promise<boolean>, server: Server): Promise<void> {
  if (!(await outcome)) throw new Error(`a request to ${server.name} failed while counting statements`);
}

/** The distinct statements of a counted run, most frequent first: what a reader checks first. */
export function statementSummary(texts: string[], limit = 12): string {
  const counts = new Map<string, number>();
  for (const text of texts) {
    const key = text.replace(/\s+/g, ' ').slice(0, 140);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([text, n]) => `    ${String(n).padStart(4)} × ${text}`)
    .join('\n');
}
