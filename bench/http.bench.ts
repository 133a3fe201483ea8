/**
 * Two everyday reads over real HTTP with keep-alive: `me` with its memberships, and a page of 50
 * members (`users`). Median and p95 of sequential requests on one connection (latency), then the
 * rate of 8 clients at once (throughput). Needs the PostgreSQL that tests use (TEST_DATABASE_URL);
 * creates and drops its own database. Run it in two checkouts to compare HTTP layers.
 *
 *   npm run bench:http
 */
import 'reflect-metadata';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { addMember, createUser, uniqueEmail } from '../test/support/fixtures';
import { startTestGateway } from '../test/support/test-gateway';

const MEMBERS = 50;
const WARMUP = 200;
const REQUESTS = 2000;
const CLIENTS = 8;
const THROUGHPUT_MS = 5000;

const ME = '{ me { id email memberships { org { slug } role { key } } } }';
const MEMBER_PAGE = `query ($orgId: ID!) {
  users(orgId: $orgId, first: ${MEMBERS}) { totalCount edges { node { id email firstName } } }
}`;

type Scenario = { name: string; body: string };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function post(agent: http.Agent, url: URL, token: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/graphql',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          response.statusCode === 200 && !text.includes('"errors"')
            ? resolve()
            : reject(new Error(`${response.statusCode}: ${text.slice(0, 300)}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function latency(url: URL, token: string, scenario: Scenario): Promise<string> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < WARMUP; i++) await post(agent, url, token, scenario.body);
  const timings: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const started = performance.now();
    await post(agent, url, token, scenario.body);
    timings.push(performance.now() - started);
  }
  agent.destroy();
  timings.sort((a, b) => a - b);
  return `${percentile(timings, 50).toFixed(3)} ms median, ${percentile(timings, 95).toFixed(3)} ms p95`;
}

async function throughput(url: URL, token: string, scenario: Scenario): Promise<string> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const deadline = performance.now() + THROUGHPUT_MS;
  let done = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline) {
        await post(agent, url, token, scenario.body);
        done += 1;
      }
    }),
  );
  agent.destroy();
  return `${Math.round(done / (THROUGHPUT_MS / 1000))} requests/s with ${CLIENTS} clients`;
}

async function main(): Promise<void> {
  const server = await startTestGateway();
  try {
    const { accessToken } = await server.login();
    const [org] = await server.sql<{ id: string }>('SELECT id FROM orgs');
    for (let i = 1; i < MEMBERS; i++) {
      await addMember(server, org.id, await createUser(server, uniqueEmail(`bench${i}`)), 'viewer');
    }
    const scenarios: Scenario[] = [
      { name: 'me', body: JSON.stringify({ query: ME }) },
      { name: `users(first: ${MEMBERS})`, body: JSON.stringify({ query: MEMBER_PAGE, variables: { orgId: org.id } }) },
    ];
    const url = new URL(server.url);
    for (const scenario of scenarios) {
      console.log(`${scenario.name}: ${await latency(url, accessToken, scenario)} (${REQUESTS} requests)`);
      console.log(`${scenario.name}: ${await throughput(url, accessToken, scenario)}`);
    }
  } finally {
    await server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
