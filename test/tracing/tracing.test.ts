import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '../support/database';
import { graphqlRequest } from '../support/graphql-client';
import { startOtlpCollector, type OtlpCollector, type ReceivedSpan } from '../support/otlp-collector';
import {
  freePort,
  gatewayEnv,
  spawnScript,
  waitForHealthy,
  withTimeout,
  type SpawnedScript,
} from '../support/spawn-gateway';
import { TEST_SECRET_KEY } from '../support/test-gateway';

/**
 * A gateway started through the command line (`portcullis serve`), as in production, exporting its
 * spans to a loopback OTLP collector: what reaches the collector, and what never does.
 */

const OWNER_EMAIL = 'tracing-owner@example.test';
const OWNER_PASSWORD = 'tracing owner passphrase 7Q';
const RESET_TOKEN = 'reset-token-from-a-mailed-link-5Z';
const COOKIE_VALUE = 'refresh-cookie-value-8W';
/** Written into a document where GraphQL's validation error quotes it back. */
const LITERAL = 'literal-quoted-by-validation-3K';
const COMMENTED_SECRET = 'password-in-a-commented-out-line-7Q';
const SERVER_KIND = 2;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Started = { gateway: SpawnedScript; url: string; loadedModules(): Promise<string[]> };

/** A gateway through `src/cli.ts serve` on a database of its own, reporting the modules it loaded as it exits. */
async function startGateway(env: Record<string, string>): Promise<Started> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const reportDir = await mkdtemp(path.join(tmpdir(), 'portcullis-tracing-'));
  cleanups.push(() => rm(reportDir, { recursive: true, force: true }));
  const report = path.join(reportDir, 'modules.json');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const gateway = spawnScript(
    'src/cli.ts',
    ['serve'],
    gatewayEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: database.url,
      SECRET_KEY: TEST_SECRET_KEY,
      DATA_DIR: reportDir,
      BCRYPT_COST: '4',
      BOOTSTRAP_EMAIL: OWNER_EMAIL,
      BOOTSTRAP_PASSWORD: OWNER_PASSWORD,
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: `--require ${path.join(__dirname, 'report-loaded-modules.js')}`,
      LOADED_MODULES_REPORT: report,
      ...env,
    }),
  );
  cleanups.push(() => gateway.forceStop());
  await waitForHealthy(gateway, url);
  return {
    gateway,
    url,
    loadedModules: async () => JSON.parse(await readFile(report, 'utf8')) as string[],
  };
}

async function stop({ gateway }: Started): Promise<void> {
  gateway.child.kill('SIGTERM');
  const exit = await withTimeout(gateway.exited, 30_000, () => 'the gateway did not stop');
  expect(exit).toEqual({ code: 0, signal: null });
}

async function signIn(url: string): Promise<{ accessToken: string; refreshToken: string }> {
  // The password as a literal of the document, not a variable: the operation's text is what is traced.
  const login = await graphqlRequest(
    url,
    `mutation SignIn {
      # login(email: "${OWNER_EMAIL}", password: "${COMMENTED_SECRET}") { accessToken }
      login(email: "${OWNER_EMAIL}", password: "${OWNER_PASSWORD}") { accessToken refreshToken }
    }`,
  );
  expect(login.errors).toBeUndefined();
  return login.data.login;
}

/** The span and its ancestors, nearest first, as far as the collector has them. */
function ancestry(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
  const chain = [span];
  for (;;) {
    const parentId = chain[chain.length - 1].parentSpanId;
    const parent = spans.find((candidate) => candidate.spanId === parentId && candidate.traceId === span.traceId);
    if (!parent) return chain;
    chain.push(parent);
  }
}

/** Server spans of the test's requests: waitForHealthy's probes left out. */
const serverSpans = (spans: ReceivedSpan[]) =>
  spans.filter((span) => span.kind === SERVER_KIND && span.name !== 'GET /healthz');

let collector: OtlpCollector;
beforeEach(async () => {
  collector = await startOtlpCollector();
  cleanups.push(() => collector.close());
});

it('exports a span per request with its GraphQL and database spans, and nothing secret', async () => {
  const started = await startGateway({
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=key%20of%20the%20collector',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  const { url } = started;
  const { accessToken, refreshToken } = await signIn(url);
  const me = await graphqlRequest(
    url,
    'query Me { me { id email } }',
    {},
    {
      token: accessToken,
      headers: { cookie: `portcullis_refresh=${COOKIE_VALUE}` },
    },
  );
  expect(me.data.me.email).toBe(OWNER_EMAIL);
  const refused = await graphqlRequest(
    url,
    `query Refused { users(first: "${LITERAL}") { totalCount } }`,
    {},
    {
      token: accessToken,
    },
  );
  expect(refused.errors?.[0]?.message).toContain(LITERAL);
  const page = await fetch(`${url}/password/reset?token=${RESET_TOKEN}`);
  await page.text();

  const spans = await collector.waitFor(
    (received) =>
      serverSpans(received).length >= 4 &&
      received.some((span) => span.name === 'query Me') &&
      received.some((span) => span.name === 'graphql.validate' && span.events.length > 0),
  );
  expect(collector.refused()).toEqual([]);
  expect(collector.headers()[0]['x-collector-key']).toBe('key of the collector');

  // One server span per request, named after its route, each the root of its own trace.
  const servers = serverSpans(spans);
  expect(servers.map((span) => span.name).sort()).toEqual([
    'GET /password/reset',
    'POST /graphql',
    'POST /graphql',
    'POST /graphql',
  ]);
  for (const span of servers) {
    expect(span.parentSpanId).toBe('');
    expect(span.resource['service.name']).toBe('portcullis');
    expect(span.attributes['portcullis.request_id']).toEqual(expect.any(String));
  }
  expect(new Set(servers.map((span) => span.traceId)).size).toBe(4);

  // `me`: its GraphQL operation and its SQL statements are children in the request's trace.
  const operation = spans.find((span) => span.name === 'query Me') as ReceivedSpan;
  const request = ancestry(operation, spans).at(-1) as ReceivedSpan;
  expect(request.kind).toBe(SERVER_KIND);
  expect(request.name).toBe('POST /graphql');
  const statements = spans.filter(
    (span) => span.traceId === request.traceId && span.scope === '@opentelemetry/instrumentation-pg',
  );
  expect(statements.length).toBeGreaterThan(0);
  for (const statement of statements) expect(ancestry(statement, spans).at(-1)).toBe(request);
  expect(
    statements.some((span) =>
      String(span.attributes['db.statement'] ?? span.attributes['db.query.text']).includes('$1'),
    ),
  ).toBe(true);

  // The operation is named, but its text is not kept: its comments are copied as written.
  const signInSpan = spans.find((span) => span.name === 'mutation SignIn') as ReceivedSpan;
  expect(signInSpan.attributes['graphql.operation.type']).toBe('mutation');
  expect(spans.some((span) => 'graphql.source' in span.attributes)).toBe(false);

  // The account page's span keeps the parameter's name, not its value.
  const pageSpan = servers.find((span) => span.name === 'GET /password/reset') as ReceivedSpan;
  expect(pageSpan.attributes['url.path']).toBe('/password/reset');
  expect(pageSpan.attributes['url.query']).toBe('token=REDACTED');

  const exported = Buffer.concat(collector.bodies()).toString('latin1');
  for (const secret of [
    OWNER_PASSWORD,
    OWNER_EMAIL,
    accessToken,
    refreshToken,
    RESET_TOKEN,
    COOKIE_VALUE,
    LITERAL,
    COMMENTED_SECRET,
  ]) {
    expect({ secret, exported: exported.includes(secret) }).toEqual({ secret, exported: false });
  }

  await stop(started);
  const modules = await started.loadedModules();
  expect(modules.some((file) => file.includes('@opentelemetry/instrumentation-graphql'))).toBe(true);
});

it('sends the spans still buffered when it shuts down', async () => {
  const started = await startGateway({
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.endpoint}/v1/traces`,
    // Far longer than the test: only the flush on shutdown can deliver them.
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    OTEL_SERVICE_NAME: 'portcullis-east',
  });
  await signIn(started.url);
  await stop(started);
  const names = collector.spans().map((span) => span.name);
  expect(names).toEqual(expect.arrayContaining(['POST /graphql', 'mutation SignIn']));
  expect(collector.spans()[0].resource['service.name']).toBe('portcullis-east');
});

it('stops cleanly when the collector is gone, and never logs its headers', async () => {
  const header = 'collector-api-key-never-logged-4V';
  const started = await startGateway({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${header}`,
    OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    LOG_LEVEL: 'trace',
  });
  await signIn(started.url);
  await stop(started);
  const output = started.gateway.stdout() + started.gateway.stderr();
  expect(output).toContain('could not send the last spans');
  expect(output).not.toContain(header);
});

it('loads no instrumentation without an endpoint', async () => {
  const started = await startGateway({ OTEL_SERVICE_NAME: 'portcullis-untraced', OTEL_BSP_SCHEDULE_DELAY: '100' });
  await signIn(started.url);
  await stop(started);
  const modules = await started.loadedModules();
  expect(modules.some((file) => file.includes('node_modules/graphql/'))).toBe(true);
  expect(modules.filter((file) => /@opentelemetry\/(instrumentation|sdk-trace|exporter)/.test(file))).toEqual([]);
});

it('traces in every worker of WORKERS, not in the primary', async () => {
  const started = await startGateway({
    WORKERS: '2',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  const pids = () => new Set(serverSpans(collector.spans()).map((span) => span.resource['process.pid']));
  // A connection of its own per request, so that node:cluster hands them to both workers in turn.
  const deadline = Date.now() + 20_000;
  while (pids().size < 2 && Date.now() < deadline) {
    await new Promise((resolve) =>
      get(`${started.url}/readyz`, { agent: false }, (res) => res.resume().on('end', resolve)),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  expect(pids().size).toBe(2);
  expect(pids().has(started.gateway.child.pid as number)).toBe(false);
  await stop(started);
  // Two workers start one after the other, each compiling the sources: slow on a busy machine.
}, 180_000);
