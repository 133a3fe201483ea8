import { clientAddress } from '../../src/core/http/client-info';
import { MEMBER_PASSWORD, person } from '../support/fixtures';
import { graphqlRequest } from '../support/graphql-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { expectRateLimited, from } from './support';

const SOCKET = '10.0.0.1';

describe('clientAddress', () => {
  it('uses the socket address and ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(clientAddress(SOCKET, '203.0.113.7', 0)).toBe(SOCKET);
    expect(clientAddress(SOCKET, null, 0)).toBe(SOCKET);
  });

  it.each<[string, string | null, number, string]>([
    ['one proxy: the entry it appended', '203.0.113.7', 1, '203.0.113.7'],
    ['one proxy: never the client-written entries left of it', '1.1.1.1, 2.2.2.2, 203.0.113.7', 1, '203.0.113.7'],
    ['two proxies: the entry the outer one appended', '1.1.1.1, 203.0.113.7, 192.168.0.5', 2, '203.0.113.7'],
    ['spaces and empty entries do not shift the count', ' 1.1.1.1 ,, 203.0.113.7 ', 1, '203.0.113.7'],
    ['IPv6 entries', '2001:db8::1, 2001:db8::2', 1, '2001:db8::2'],
  ])('%s', (_case, forwardedFor, hops, expected) => {
    expect(clientAddress(SOCKET, forwardedFor, hops)).toBe(expected);
  });

  it('falls back towards the socket, never further left, when there are fewer entries than hops', () => {
    expect(clientAddress(SOCKET, null, 1)).toBe(SOCKET);
    expect(clientAddress(SOCKET, '', 3)).toBe(SOCKET);
    expect(clientAddress(SOCKET, '203.0.113.7', 3)).toBe('203.0.113.7');
  });

  it.each<[string, string]>([
    ['192.0.2.15:1234', '192.0.2.15'],
    ['192.0.2.15:65535', '192.0.2.15'],
    ['192.0.2.15%eth0', '192.0.2.15'],
    ['[2001:db8::1]:80', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['[fe80::1%25eth0]:443', 'fe80::1'],
    ['::ffff:192.0.2.15', '::ffff:192.0.2.15'],
  ])('takes the address of %s, without port, brackets or zone', (entry, expected) => {
    expect(clientAddress(SOCKET, entry, 1)).toBe(expected);
    expect(clientAddress(SOCKET, `${entry}, 10.1.1.1`, 2)).toBe(expected);
  });

  it.each([
    ['not-an-ip', 'not-an-ip'],
    ['unknown', 'unknown'],
    ['192.0.2.15:port', '192.0.2.15:port'],
    ['192.0.2.15:1234:5', '192.0.2.15:1234:5'],
    ['192.0.2.015', '192.0.2.015'],
    ['1.2.3.256', '1.2.3.256'],
    ['[192.0.2.15]x', '[192.0.2.15]x'],
    ['2001:db8::1:80:ffff:1:2:3', '2001:db8::1:80:ffff:1:2:3'],
    ['5000 characters', 'x'.repeat(5000)],
  ])('does not believe %s: the socket peer stands in', (_case, entry) => {
    expect(clientAddress(SOCKET, entry, 1)).toBe(SOCKET);
    expect(clientAddress(SOCKET, `203.0.113.7, ${entry}`, 1)).toBe(SOCKET);
  });

  it('answers null only without a socket address or a believable entry', () => {
    expect(clientAddress(null, null, 1)).toBeNull();
    expect(clientAddress(null, 'unknown', 1)).toBeNull();
    expect(clientAddress(null, '203.0.113.7', 1)).toBe('203.0.113.7');
  });
});

describe('X-Forwarded-For over HTTP (TRUST_PROXY=1)', () => {
  const THRESHOLD = 3;
  const LOGIN =
    'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }';
  let server: TestGateway;

  beforeAll(async () => {
    server = await startTestGateway({ TRUST_PROXY: '1', LOCKOUT_THRESHOLD: String(THRESHOLD) });
  });

  afterAll(async () => {
    await server.close();
  });

  const login = (email: string, password: string, entry: string) =>
    graphqlRequest(server.url, LOGIN, { email, password }, from(entry));

  it('counts 192.0.2.15 with any source port as one address for the sign-in throttle', async () => {
    const member = await person(server, 'ported');
    for (const entry of ['192.0.2.15:1234', '192.0.2.15:5678', '192.0.2.15']) {
      expect((await login(member.email, 'a wrong password!', entry)).errors?.[0].extensions?.code).toBe(
        'UNAUTHENTICATED',
      );
    }
    for (const entry of ['192.0.2.15', '192.0.2.15:1234', '192.0.2.15:40000', '192.0.2.15%eth0']) {
      expectRateLimited(await login(member.email, MEMBER_PASSWORD, entry));
    }
    expect((await login(member.email, MEMBER_PASSWORD, '192.0.2.16:1234')).errors).toBeUndefined();
  });

  it('lumps entries that are not addresses together with the proxy', async () => {
    const member = await person(server, 'unparsed');
    for (const entry of ['unknown', 'not-an-ip', 'host.example']) await login(member.email, 'a wrong password!', entry);
    for (const entry of ['unknown', 'garbage:1', '']) {
      expectRateLimited(await login(member.email, MEMBER_PASSWORD, entry));
    }
    const [{ addresses }] = await server.sql(
      `SELECT array_agg(DISTINCT ip_address) AS addresses FROM audit_logs
        WHERE action = 'session.login_failed' AND target_id = $1`,
      [member.id],
    );
    expect(addresses).toEqual(['127.0.0.1']);
  });
});
