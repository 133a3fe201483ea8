import { clientAddress } from '../../src/core/http/client-info';

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

  it('bounds an address the client may have written', () => {
    expect(clientAddress(SOCKET, 'x'.repeat(5000), 5)).toHaveLength(64);
    expect(clientAddress(null, null, 1)).toBeNull();
  });
});
