import { Client } from 'pg';
import { PasswordHasher } from '../../src/core/crypto/password-hasher';
import { MEMBER_PASSWORD, uniqueEmail } from '../support/fixtures';
import { graphqlRequest } from '../support/graphql-client';
import { createPrivatePostgres, type PrivatePostgres, type ShutdownMode } from '../support/private-postgres';
import { freePort, gatewayEnv, spawnScript, waitForHealthy, type SpawnedScript } from '../support/spawn-gateway';
import { OWNER_EMAIL, OWNER_PASSWORD, TEST_SECRET_KEY } from '../support/test-gateway';

/**
 * PostgreSQL stopped under load, then started again, under one gateway that keeps running: every
 * answer is a success or a retryable 503 (never a refusal, a "not found" or a masked 500), and
 * the same credentials work again once the database is back.
 */

jest.setTimeout(120_000);

type ProbeKind = 'graphql' | 'forward-auth' | 'export' | 'readiness';

type Answer = {
  probe: string;
  kind: ProbeKind;
  startedAt: number;
  endedAt: number;
  status: number;
  codes: string[];
  retryAfter: string | null;
  ok: boolean;
  detail: string;
};

type Probe = { name: string; kind: ProbeKind; send(): Promise<Answer> };

let cluster: PrivatePostgres;
let gateway: SpawnedScript;
let url: string;
let probes: Probe[];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answerOf(
  { name: probe, kind }: { name: string; kind: ProbeKind },
  request: () => Promise<Response>,
  succeeded: (response: Response, body: any) => boolean,
): Promise<Answer> {
  const startedAt = Date.now();
  try {
    const response = await request();
    const text = await response.text();
    let body: any = null;
    try {
      body = JSON.parse(text);
    } catch {
      // An export answers NDJSON; its success is judged on the status.
    }
    const codes = ((body?.errors ?? []) as Array<{ extensions?: { code?: string } }>).map(
      (error) => error.extensions?.code ?? 'none',
    );
    return {
      probe,
      kind,
      startedAt,
      endedAt: Date.now(),
      status: response.status,
      codes,
      retryAfter: response.headers.get('retry-after'),
      ok: succeeded(response, body),
      detail: text.slice(0, 300),
    };
  } catch (error) {
    return {
      probe,
      kind,
      startedAt,
      endedAt: Date.now(),
      status: 0,
      codes: [],
      retryAfter: null,
      ok: false,
      detail: String(error),
    };
  }
}

function graphqlProbe(
  name: string,
  token: string | null,
  query: string,
  variables: () => Record<string, unknown>,
  succeeded: (data: any) => boolean,
): Probe {
  return {
    name,
    kind: 'graphql',
    send: () =>
      answerOf(
        { name, kind: 'graphql' },
        () =>
          fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: JSON.stringify({ query, variables: variables() }),
          }),
        (response, body) => response.status === 200 && !body?.errors && Boolean(body?.data) && succeeded(body.data),
      ),
  };
}

function httpProbe(
  name: string,
  kind: ProbeKind,
  path: string,
  token: string | null,
  succeeded: (response: Response) => boolean,
): Probe {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return { name, kind, send: () => answerOf({ name, kind }, () => fetch(`${url}${path}`, { headers }), succeeded) };
}

/** What an answer is: a success, the retryable outage answer its endpoint owes, or wrong. */
function verdict(answer: Answer): 'ok' | 'unavailable' | 'wrong' {
  const kind = answer.kind;
  if (answer.ok) return 'ok';
  if (answer.status !== 503) return 'wrong';
  if (kind === 'readiness') return 'unavailable';
  const waits = Number(answer.retryAfter);
  if (!Number.isInteger(waits) || waits <= 0) return 'wrong';
  if (kind === 'forward-auth') return 'unavailable';
  const allUnavailable = answer.codes.length > 0 && answer.codes.every((code) => code === 'SERVICE_UNAVAILABLE');
  return allUnavailable ? 'unavailable' : 'wrong';
}

const describeAnswer = (answer: Answer) =>
  `${answer.probe}: ${answer.status} [${answer.codes.join(',')}] retry-after=${answer.retryAfter} ${answer.detail}`;

/** Wrong answers, one line per kind of wrong with how often it happened: a failure stays readable. */
function summarise(answers: Answer[]): string[] {
  const kinds = new Map<string, { count: number; example: string }>();
  for (const answer of answers) {
    const key = `${answer.probe}: ${answer.status} [${answer.codes.join(',')}]`;
    const entry = kinds.get(key) ?? { count: 0, example: describeAnswer(answer) };
    entry.count += 1;
    kinds.set(key, entry);
  }
  return [...kinds.values()].map(({ count, example }) => `${count}x ${example}`);
}

/** Several clients per probe, each sending one request after another until told to stop. */
function startLoad(clientsPerProbe: number) {
  const answers: Answer[] = [];
  let running = true;
  const clients = probes.flatMap((probe) =>
    Array.from({ length: clientsPerProbe }, async () => {
      while (running) {
        answers.push(await probe.send());
        // A refused connection fails in a millisecond; a short pause keeps the loop from only spinning.
        await sleep(10);
      }
    }),
  );
  return {
    answers,
    async finish(): Promise<Answer[]> {
      running = false;
      await Promise.all(clients);
      return answers;
    },
  };
}

/** Milliseconds until every probe has succeeded again, each polled on its own. */
async function timeUntilEveryProbeSucceeds(since: number, timeoutMs: number): Promise<number> {
  const recoveries = probes.map(async (probe) => {
    for (;;) {
      const answer = await probe.send();
      if (answer.ok) return answer.endedAt - since;
      if (Date.now() - since > timeoutMs) {
        const state = gateway.isRunning() ? 'running' : `exited:\n${gateway.stderr().slice(-2000)}`;
        throw new Error(`still failing: ${describeAnswer(answer)}; the gateway ${state}`);
      }
      await sleep(50);
    }
  });
  return Math.max(...(await Promise.all(recoveries)));
}

async function graphql(query: string, variables: Record<string, unknown>, token?: string): Promise<any> {
  const response = await graphqlRequest(url, query, variables, { token });
  if (response.errors) throw new Error(`${query}: ${JSON.stringify(response.errors)}`);
  return response.data;
}

async function signIn(email: string, password: string, orgId?: string): Promise<string> {
  const data = await graphql(
    'mutation ($email: String!, $password: String!, $orgId: ID) { login(email: $email, password: $password, orgId: $orgId) { accessToken } }',
    { email, password, orgId },
  );
  return data.login.accessToken;
}

/** The gateway's own error log lines: why an answer was wrong. */
const gatewayErrors = () =>
  gateway
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"level":50'))
    .slice(0, 5);

beforeAll(async () => {
  cluster = await createPrivatePostgres();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // A process of its own, as in production: node's socket errors reach graphql-js as the Errors they are.
  gateway = spawnScript(
    'test/support/gateway-process.ts',
    [],
    gatewayEnv({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: cluster.url,
      DATABASE_POOL_SIZE: '5',
      SECRET_KEY: TEST_SECRET_KEY,
      BCRYPT_COST: '4',
      BOOTSTRAP_EMAIL: OWNER_EMAIL,
      BOOTSTRAP_PASSWORD: OWNER_PASSWORD,
      PUBLIC_URL: 'http://portcullis.test',
      LOG_LEVEL: 'error',
      // Sign-ins cut by the outage are never refunded; the probes must not run into the limit.
      RATE_LIMIT_LOGIN_PER_IP: '1000000/15m',
      LOGIN_SLOWDOWN_AFTER: '1000000/15m',
    }),
  );
  await waitForHealthy(gateway, url);

  const owner = await signIn(OWNER_EMAIL, OWNER_PASSWORD);
  const orgId: string = (await graphql('mutation { createOrg(input: { name: "Outage Org" }) { id } }', {}, owner))
    .createOrg.id;
  const member = { id: '', email: uniqueEmail('outage') };
  const sql = new Client({ connectionString: cluster.url });
  await sql.connect();
  try {
    const hash = await new PasswordHasher(4).hash(MEMBER_PASSWORD);
    const user = await sql.query('INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id', [
      member.email,
      hash,
    ]);
    member.id = user.rows[0].id;
    await sql.query(
      `INSERT INTO memberships (org_id, user_id, role_id)
       SELECT $1, $2, id FROM roles WHERE org_id = $1 AND key = 'admin'`,
      [orgId, member.id],
    );
  } finally {
    await sql.end();
  }
  const memberToken = await signIn(member.email, MEMBER_PASSWORD, orgId);
  const adminRole = (
    await graphql('query ($orgId: ID!) { org(id: $orgId) { roles { id key } } }', { orgId }, owner)
  ).org.roles.find((role: { key: string }) => role.key === 'admin').id;
  const robot = await graphql(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
    { input: { orgId, name: 'Outage Bot', roleId: adminRole } },
    owner,
  );
  const key = await graphql(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }',
    { input: { ownerId: robot.createServiceAccount.id, name: 'outage', scopes: ['members:read', 'org:read'] } },
    owner,
  );
  const apiKey: string = key.createKey.token;

  let teams = 0;
  probes = [
    graphqlProbe(
      'me (bearer token)',
      memberToken,
      '{ me { id } }',
      () => ({}),
      (data) => data.me.id === member.id,
    ),
    graphqlProbe(
      'users (API key)',
      apiKey,
      'query ($orgId: ID!) { users(orgId: $orgId) { totalCount } }',
      () => ({ orgId }),
      (data) => data.users.totalCount >= 2,
    ),
    graphqlProbe(
      'org (permission rules)',
      memberToken,
      'query ($orgId: ID!) { org(id: $orgId) { id teams { edges { node { id } } } members(first: 5) { totalCount } } }',
      () => ({ orgId }),
      (data) => data.org.id === orgId,
    ),
    graphqlProbe(
      'createTeam (mutation)',
      memberToken,
      'mutation ($input: CreateTeamInput!) { createTeam(input: $input) { id } }',
      () => ({ input: { orgId, name: `Team ${(teams += 1)} ${Date.now()}` } }),
      (data) => Boolean(data.createTeam.id),
    ),
    graphqlProbe(
      'login (rate limiter)',
      null,
      'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
      () => ({ email: member.email, password: MEMBER_PASSWORD }),
      (data) => Boolean(data.login.accessToken),
    ),
    httpProbe(
      'GET /auth/check',
      'forward-auth',
      '/auth/check',
      memberToken,
      (response) => response.status === 200 && response.headers.get('x-user-id') === member.id,
    ),
    httpProbe(
      'GET /audit/export',
      'export',
      `/audit/export?orgId=${orgId}`,
      memberToken,
      (response) => response.status === 200,
    ),
    httpProbe('GET /readyz', 'readiness', '/readyz', null, (response) => response.status === 200),
  ];
  for (const probe of probes) {
    const answer = await probe.send();
    if (!answer.ok) throw new Error(`before any outage: ${describeAnswer(answer)}`);
  }
});

afterAll(async () => {
  await gateway?.forceStop();
  await cluster?.destroy();
});

describe.each<ShutdownMode>(['fast', 'immediate'])('PostgreSQL stopped (-m %s) under load', (mode) => {
  it('answers only successes or 503 SERVICE_UNAVAILABLE with Retry-After, and recovers without a restart', async () => {
    const load = startLoad(2);
    let stoppedAt = 0;
    let restartAt = 0;
    let startedAt = 0;
    let recoveryMs = Infinity;
    let whileDown: Answer[] = [];
    try {
      await sleep(1_000);
      await cluster.stop(mode);
      stoppedAt = Date.now();
      await sleep(500);
      // While it is down, deterministically: every probe, the streaming export included, answers 503.
      whileDown = await Promise.all(probes.map((probe) => probe.send()));
      await sleep(1_500);
      restartAt = Date.now();
      await cluster.start();
      startedAt = Date.now();
      recoveryMs = await timeUntilEveryProbeSucceeds(startedAt, 10_000);
      await sleep(1_000);
    } finally {
      await load.finish();
    }
    const answers = load.answers;
    const unavailable = answers.filter((answer) => verdict(answer) === 'unavailable').length;
    console.info(
      `-m ${mode}: ${answers.length} answers under load, ${unavailable} of them 503; ` +
        `every probe succeeded again ${recoveryMs} ms after PostgreSQL was back`,
    );

    const wrong = [...answers, ...whileDown].filter((answer) => verdict(answer) === 'wrong');
    const logged = wrong.length > 0 ? gatewayErrors() : [];
    expect({ wrong: summarise(wrong), logged }).toEqual({ wrong: [], logged: [] });

    expect(whileDown.map((answer) => `${answer.probe}: ${verdict(answer)}`)).toEqual(
      probes.map((probe) => `${probe.name}: unavailable`),
    );
    // Under load too, each probe met the outage, and nothing served while the database was down succeeded.
    const duringOutage = answers.filter((answer) => answer.startedAt >= stoppedAt && answer.endedAt <= restartAt);
    for (const probe of probes) {
      const seen = duringOutage.filter((answer) => answer.probe === probe.name);
      expect({
        probe: probe.name,
        answered: seen.length > 0,
        succeeded: seen.filter((answer) => answer.ok).length,
      }).toEqual({ probe: probe.name, answered: true, succeeded: 0 });
    }

    // The same gateway, with the same tokens and key, serves again within seconds of the database.
    expect(recoveryMs).toBeLessThan(5_000);
    const afterRecovery = answers.filter((answer) => answer.startedAt >= startedAt + recoveryMs);
    expect(summarise(afterRecovery.filter((answer) => !answer.ok))).toEqual([]);
    const again = await Promise.all(probes.map((probe) => probe.send()));
    expect(summarise(again.filter((answer) => !answer.ok))).toEqual([]);
  });
});

it('a database that stops answering fails requests within the connect timeout instead of holding them', async () => {
  const me = probes.find((probe) => probe.name === 'me (bearer token)') as Probe;
  await cluster.freeze();
  let thawedAt = 0;
  let answers: Answer[];
  try {
    // More requests than DATABASE_POOL_SIZE (5): the pool's connections hang with the server, and the
    // requests waiting for one, or for a new connection, give up after connectionTimeoutMillis.
    const pending = Array.from({ length: 8 }, () => me.send());
    await sleep(8_000);
    thawedAt = Date.now();
    await cluster.thaw();
    answers = await Promise.all(pending);
  } finally {
    if (!thawedAt) await cluster.thaw();
  }
  expect(summarise(answers.filter((answer) => verdict(answer) === 'wrong'))).toEqual([]);
  const refusedInTime = answers.filter(
    (answer) =>
      verdict(answer) === 'unavailable' && answer.endedAt < thawedAt && answer.endedAt - answer.startedAt < 7_000,
  );
  expect(refusedInTime.length).toBeGreaterThanOrEqual(3);
  expect(await timeUntilEveryProbeSucceeds(Date.now(), 10_000)).toBeLessThan(5_000);
});
