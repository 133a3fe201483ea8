import { startGateway, type Gateway } from '../../src/app';
import { loadConfig } from '../../src/core/config/config';
import { createLogger } from '../../src/core/logger';
import { MEMBER_PASSWORD, person, uniqueEmail } from '../support/fixtures';
import { errorCode, graphqlRequest, type GraphQLResponse, type RequestOptions } from '../support/graphql-client';
import {
  OWNER_EMAIL,
  OWNER_PASSWORD,
  startTestGateway,
  TEST_SECRET_KEY,
  type TestGateway,
} from '../support/test-gateway';
import { expectRateLimited, freshAddress, from, partition } from './support';

const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken user { superUser } } }';

/** The default LOCKOUT_THRESHOLD: failures per account and address before that address is refused. */
const THRESHOLD = 10;
const WRONG = 'not the password at all';

let server: TestGateway;

beforeAll(async () => {
  server = await startTestGateway({ TRUST_PROXY: '1' });
});

afterAll(async () => {
  await server.close();
});

const login = (email: string, password: string, options: RequestOptions, url = server.url) =>
  graphqlRequest(url, LOGIN, { email, password }, options);

const burst = (email: string, address: string, count = 30): Promise<GraphQLResponse[]> =>
  Promise.all(Array.from({ length: count }, () => login(email, WRONG, from(address))));

describe('sign-in failures, throttled per account and address', () => {
  it('refuses a guessing address after the threshold while the owner, a super user, signs in from another', async () => {
    const guesser = freshAddress();
    const { refused, answered } = partition(await burst(OWNER_EMAIL, guesser));
    expect(answered).toHaveLength(THRESHOLD);
    for (const response of answered) expect(response.errors?.[0].message).toBe('Invalid email or password');
    expect(refused).toHaveLength(30 - THRESHOLD);
    for (const response of refused) expectRateLimited(response, 15 * 60);

    expectRateLimited(await login(OWNER_EMAIL, OWNER_PASSWORD, from(guesser)));
    const owner = await login(OWNER_EMAIL, OWNER_PASSWORD, from(freshAddress()));
    expect(owner.errors).toBeUndefined();
    expect(owner.data.login.user.superUser).toBe(true);

    // Only the attempts that reached the password check were audited (and cost a bcrypt).
    const [{ count }] = await server.sql(
      `SELECT count(*)::int AS count FROM audit_logs
        WHERE action = 'session.login_failed' AND ip_address = $1 AND org_id IS NULL`,
      [guesser],
    );
    expect(count).toBe(THRESHOLD);
  });

  it('believes no X-Forwarded-For entry left of the trusted proxy: a spoofed one does not escape the throttle', async () => {
    const member = await person(server, 'spoofed');
    const guesser = freshAddress();
    await burst(member.email, guesser, THRESHOLD);
    for (const spoofed of [['192.0.2.1'], ['192.0.2.2', '192.0.2.3'], [freshAddress()]]) {
      expectRateLimited(await login(member.email, MEMBER_PASSWORD, from(guesser, spoofed)));
    }
    const [{ addresses }] = await server.sql(
      `SELECT array_agg(DISTINCT ip_address) AS addresses FROM audit_logs
        WHERE action = 'session.login_failed' AND target_id = $1`,
      [member.id],
    );
    expect(addresses).toEqual([guesser]);
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped address as the IPv4 it is', async () => {
    const member = await person(server, 'rotating');
    // Eleven addresses of one /64: together they reach the threshold.
    const rotating = Array.from({ length: THRESHOLD + 1 }, (_, n) => `2001:db8:a:b::${(n + 1).toString(16)}`);
    const answers = [];
    for (const address of rotating) answers.push(await login(member.email, WRONG, from(address)));
    expect(partition(answers).answered).toHaveLength(THRESHOLD);
    expectRateLimited(answers[THRESHOLD]);
    expectRateLimited(await login(member.email, MEMBER_PASSWORD, from('2001:db8:a:b:ffff:ffff:ffff:ffff')));
    // The next /64 is another subscriber.
    expect((await login(member.email, MEMBER_PASSWORD, from('2001:db8:a:c::1'))).errors).toBeUndefined();

    const mapped = await person(server, 'mapped');
    await burst(mapped.email, '203.0.113.9', THRESHOLD);
    expectRateLimited(await login(mapped.email, MEMBER_PASSWORD, from('::ffff:203.0.113.9')));
  });

  it('answers an email without an account exactly like one with', async () => {
    const member = await person(server, 'real');
    const [known, unknown] = await Promise.all([
      burst(member.email, freshAddress()),
      burst(uniqueEmail('ghost'), freshAddress()),
    ]);
    const visible = (response: GraphQLResponse) =>
      JSON.stringify([response.errors?.[0].message, response.errors?.[0].extensions?.code]);
    expect(unknown.map(visible).sort()).toEqual(known.map(visible).sort());
    expect(partition(unknown).refused).toHaveLength(30 - THRESHOLD);
  });

  it('stores counters as hashes: neither emails nor addresses in the table', async () => {
    const member = await person(server, 'hashed');
    const address = freshAddress();
    await login(member.email, WRONG, from(address));
    const keys = (await server.sql<{ key: string }>('SELECT key FROM rate_limits')).map((row) => row.key).join('\n');
    expect(keys).toMatch(/^loginPerAccountAndIp:[0-9a-f]{32}:[0-9a-f]{32}$/m);
    expect(keys).not.toContain(member.email);
    expect(keys).not.toContain(address);
  });
});

describe('two gateway processes on one database', () => {
  let second: Gateway;

  beforeAll(async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: server.databaseUrl,
      DATABASE_POOL_SIZE: '2',
      SECRET_KEY: TEST_SECRET_KEY,
      BCRYPT_COST: '4',
      TRUST_PROXY: '1',
    });
    second = await startGateway(config, createLogger('silent'));
  });

  afterAll(async () => {
    await second.close();
  });

  it('share the counters: failures through either count towards one threshold', async () => {
    const member = await person(server, 'shared');
    const guesser = freshAddress();
    const half = THRESHOLD / 2;
    for (let i = 0; i < half; i++) {
      expect(errorCode(await login(member.email, WRONG, from(guesser)))).toBe('UNAUTHENTICATED');
      expect(errorCode(await login(member.email, WRONG, from(guesser), second.url))).toBe('UNAUTHENTICATED');
    }
    expectRateLimited(await login(member.email, MEMBER_PASSWORD, from(guesser)));
    expectRateLimited(await login(member.email, MEMBER_PASSWORD, from(guesser), second.url));
    expect((await login(member.email, MEMBER_PASSWORD, from(freshAddress()), second.url)).errors).toBeUndefined();
  });
});

describe('with small limits', () => {
  let small: TestGateway;

  beforeAll(async () => {
    small = await startTestGateway({
      TRUST_PROXY: '1',
      RATE_LIMIT_LOGIN_PER_IP: '3/15m',
      LOGIN_SLOWDOWN_AFTER: '3/15m',
      LOGIN_SLOWDOWN_DELAY: '1s',
    });
  });

  afterAll(async () => {
    await small.close();
  });

  const loginAt = (email: string, password: string, address: string) =>
    login(email, password, from(address), small.url);

  it('counts only failures per address, whichever emails they name', async () => {
    const address = freshAddress();
    for (let i = 0; i < 5; i++) expect((await loginAt(OWNER_EMAIL, OWNER_PASSWORD, address)).errors).toBeUndefined();
    for (let i = 0; i < 3; i++)
      expect(errorCode(await loginAt(uniqueEmail('spray'), WRONG, address))).toBe('UNAUTHENTICATED');
    expectRateLimited(await loginAt(uniqueEmail('spray'), WRONG, address), 15 * 60);
    expectRateLimited(await loginAt(OWNER_EMAIL, OWNER_PASSWORD, address), 15 * 60);
  });

  it('only slows an account down after many failures from many addresses, and never refuses the right password', async () => {
    const member = await person(small, 'popular');
    for (let i = 0; i < 3; i++) await loginAt(member.email, WRONG, freshAddress());

    const slowedGuess = Date.now();
    expect(errorCode(await loginAt(member.email, WRONG, freshAddress()))).toBe('UNAUTHENTICATED');
    expect(Date.now() - slowedGuess).toBeGreaterThanOrEqual(1000);

    const slowedOwner = Date.now();
    expect((await loginAt(member.email, MEMBER_PASSWORD, freshAddress())).errors).toBeUndefined();
    expect(Date.now() - slowedOwner).toBeGreaterThanOrEqual(1000);
  });
});
