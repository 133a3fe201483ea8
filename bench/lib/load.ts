/** Load generation: autocannon for open-ended throughput runs, plain loops for ordered chains. */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

export type Run = {
  /** Successful (2xx, no GraphQL errors) requests per second. */
  rps: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  /** Non-2xx answers, socket errors and timeouts. */
  failures: number;
};

export type GraphQLCall = { query: string; variables?: Record<string, unknown> };

export function graphqlBody(call: GraphQLCall): string {
  return JSON.stringify(call);
}

export type LoadOptions = {
  url: string;
  connections: number;
  durationSeconds: number;
  /** One request, or several that each connection cycles through in order. */
  requests: Array<{ method?: 'GET' | 'POST'; path: string; body?: string; headers?: Record<string, string> }>;
};

/**
 * Runs autocannon; latencies in milliseconds. A 200 whose GraphQL answer has `errors` counts as a
 * failure, not as throughput.
 */
export async function load(options: LoadOptions): Promise<Run> {
  let graphqlErrors = 0;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    requests: options.requests.map((request) => ({
      method: request.method ?? 'POST',
      path: request.path,
      body: request.body,
      headers: { 'content-type': 'application/json', ...request.headers },
      onResponse: (status: number, body: string) => {
        if (status === 200 && body.includes('"errors"')) graphqlErrors += 1;
      },
    })),
  });
  const failures = result.non2xx + result.errors + result.timeouts + graphqlErrors;
  if (failures > 0) {
    console.warn(
      `  ${options.url}: ${failures} failed requests (${result.non2xx} non-2xx, ${graphqlErrors} GraphQL errors, ${result.errors} errors, ${result.timeouts} timeouts)`,
    );
  }
  return {
    rps: (result.requests.total - result.non2xx - graphqlErrors) / (result.duration || options.durationSeconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    requests: result.requests.total,
    failures,
  };
}

export type Answer = { status: number; body: string };

/** One HTTP request on a keep-alive agent; answers status and body text. */
export function send(
  agent: http.Agent,
  url: string,
  request: { method?: string; path: string; body?: string; headers?: Record<string, string> },
): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: request.path,
        method: request.method ?? 'POST',
        agent,
        headers: {
          ...(request.body
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(request.body) }
            : {}),
          ...request.headers,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/** A GraphQL call over HTTP that fails on any error; answers `data`. */
export async function graphql<T = any>(url: string, call: GraphQLCall, token?: string): Promise<T> {
  const agent = new http.Agent({ keepAlive: false });
  const answer = await send(agent, url, {
    path: '/graphql',
    body: graphqlBody(call),
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  agent.destroy();
  const parsed = JSON.parse(answer.body) as { data?: T; errors?: unknown };
  if (answer.status !== 200 || parsed.errors || !parsed.data) {
    throw new Error(`${url}: ${answer.status} ${answer.body.slice(0, 500)}`);
  }
  return parsed.data;
}

/**
 * `workers` loops, each sending `next(worker)` one after another until the duration is over: for
 * request chains autocannon cannot keep (each answer holds the next request's credential).
 * Latencies in milliseconds; a failed answer ends nothing but is counted.
 */
export async function closedLoop(
  workers: number,
  durationSeconds: number,
  step: (worker: number, agent: http.Agent) => Promise<boolean>,
): Promise<Run> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers });
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + durationSeconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        const ok = await step(worker, agent).catch(() => false);
        if (ok) latencies.push(performance.now() - sent);
        else failures += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
    requests: latencies.length + failures,
    failures,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
