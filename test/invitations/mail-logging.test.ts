import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { Client } from 'pg';
import { createTestDatabase } from '../support/database';
import { startSmtpSink } from '../support/smtp-sink';
import { graphqlRequest } from '../support/graphql-client';
import { freePort, gatewayEnv, spawnScript, waitForHealthy, type SpawnedScript } from '../support/spawn-gateway';
import { OWNER_EMAIL, OWNER_PASSWORD, TEST_SECRET_KEY } from '../support/test-gateway';

/**
 * What a spawned gateway prints at LOG_LEVEL=trace while it mails an invitation and a password
 * reset: in production never a mailed link or its token, whatever the transport; in development
 * the outbox's links, said to be for local development.
 */

type Run = { logs: string; links: string[]; tokens: string[] };

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}

/** The texts of the messages delivered so far; `logs` is the gateway's output so far. */
type Mailbox = (dataDir: string, logs: string) => Promise<string[]>;

/** Reads DATA_DIR/outbox, once the gateway has logged a line for each message written there. */
const outbox: Mailbox = async (dataDir, logs) => {
  const directory = path.join(dataDir, 'outbox');
  const files = (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.eml'));
  if ((logs.match(/"msg":"outbox/g) ?? []).length < files.length) return [];
  const messages = await Promise.all(
    files.map(async (file) => simpleParser(await readFile(path.join(directory, file)))),
  );
  return messages.map((message) => message.text ?? '');
};

/**
 * Starts a gateway with `env`, sends an invitation and a password reset, waits for both messages
 * in `mailbox`, and returns the gateway's output and the links mailed.
 */
async function mailTwoLinks(env: Record<string, string>, mailbox: Mailbox = outbox): Promise<Run> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-outbox-log-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const gateway: SpawnedScript = spawnScript(
    'src/main.ts',
    [],
    gatewayEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: database.url,
      SECRET_KEY: TEST_SECRET_KEY,
      DATA_DIR: dataDir,
      BCRYPT_COST: '4',
      BOOTSTRAP_EMAIL: OWNER_EMAIL,
      BOOTSTRAP_PASSWORD: OWNER_PASSWORD,
      PUBLIC_URL: 'https://id.example.com',
      LOG_LEVEL: 'trace',
      ...env,
    }),
  );
  cleanups.push(() => gateway.forceStop());
  await waitForHealthy(gateway, url);

  const login = await graphqlRequest(
    url,
    'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
    { e: OWNER_EMAIL, p: OWNER_PASSWORD },
  );
  expect(login.errors).toBeUndefined();
  const sql = new Client({ connectionString: database.url });
  await sql.connect();
  const {
    rows: [viewer],
  } = await sql.query("SELECT org_id, id FROM roles WHERE key = 'viewer'").finally(() => sql.end());

  const invite = await graphqlRequest(
    url,
    'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
    { input: { orgId: viewer.org_id, email: 'invitee@example.com', roleId: viewer.id } },
    { token: login.data.login.accessToken },
  );
  expect(invite.errors).toBeUndefined();
  const reset = await graphqlRequest(url, 'mutation ($e: String!) { requestPasswordReset(email: $e) }', {
    e: OWNER_EMAIL,
  });
  expect(reset.errors).toBeUndefined();

  // The reset mail leaves after the response.
  const texts = await until(async () => {
    const delivered = await mailbox(dataDir, gateway.stdout());
    return delivered.length === 2 ? delivered : undefined;
  }, 'two messages delivered');
  const links = texts.map((text) => {
    const link = text.match(/https:\/\/id\.example\.com\/\S+\?token=\S+/)?.[0];
    if (!link) throw new Error(`no link in: ${text}`);
    return link;
  });
  const tokens = links.map((link) => new URL(link).searchParams.get('token') as string);
  return { logs: gateway.stdout() + gateway.stderr(), links, tokens };
}

it('in production with MAIL_TRANSPORT=outbox, writes the mail but logs neither link nor token, at any level', async () => {
  // SMTP_URL names a port nothing listens on: the explicit outbox must win over it.
  const run = await mailTwoLinks({ NODE_ENV: 'production', MAIL_TRANSPORT: 'outbox', SMTP_URL: 'smtp://127.0.0.1:9' });
  expect(run.links.map((link) => new URL(link).pathname).sort()).toEqual(['/invitations/accept', '/password/reset']);
  for (const token of run.tokens) {
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(run.logs).not.toContain(token);
  }
  expect(run.logs).not.toContain('token=');
  expect(run.logs).not.toContain('https://id.example.com/invitations');
  expect(run.logs).not.toContain('https://id.example.com/password');
  expect(run.logs).toContain('MAIL_TRANSPORT=outbox: mail is written to files, not sent');
});

it('in production with SMTP, logs neither link nor token even when SMTP_URL asks nodemailer for a transcript', async () => {
  const sink = await startSmtpSink();
  cleanups.push(() => sink.close());
  const run = await mailTwoLinks({ NODE_ENV: 'production', SMTP_URL: `${sink.url}?logger=true&debug=true` }, async () =>
    sink.messages.map((message) => message.text ?? ''),
  );
  expect(run.tokens).toHaveLength(2);
  for (const token of run.tokens) expect(run.logs).not.toContain(token);
  expect(run.logs).not.toContain('token=');
});

it('in development, logs each outbox link for local use', async () => {
  const run = await mailTwoLinks({ NODE_ENV: 'development' });
  const lines = run.logs
    .split('\n')
    .filter((line) => line.includes('"msg":"outbox'))
    .map((line) => JSON.parse(line) as { msg: string; link?: string });
  expect(lines.map((line) => line.link).sort()).toEqual([...run.links].sort());
  for (const line of lines) expect(line.msg).toMatch(/local development/);
});
