import { fragmentNesting, MAX_FRAGMENT_NESTING } from '../../src/core/graphql/fragment-nesting';
import { parse } from 'graphql';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/** A chain of fragments each spreading the next, ending in `me { id }`'s field. */
function chain(length: number): string {
  const fragments = Array.from(
    { length },
    (_, index) => `fragment F${index} on User { ${index + 1 < length ? `...F${index + 1}` : 'id'} }`,
  );
  return `{ me { ...F0 } } ${fragments.join(' ')}`;
}

let server: TestGateway;
let token: string;

beforeAll(async () => {
  server = await startTestGateway();
  token = (await server.login()).accessToken;
});

afterAll(async () => {
  await server.close();
});

it('measures the longest chain of spreads without recursion, cycles included', () => {
  expect(fragmentNesting(parse(chain(1)))).toBe(1);
  expect(fragmentNesting(parse(chain(200_000 / 50)))).toBe(4000);
  const cycle = parse('{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A id }');
  expect(fragmentNesting(cycle)).toBe(2);
});

it('refuses a chain of fragments deeper than the limit with 400, not a 500 from a stack overflow', async () => {
  for (const length of [MAX_FRAGMENT_NESTING + 1, 600, 5000]) {
    const response = await server.graphql(chain(length), {}, { token });
    expect({ length, status: response.status, code: response.errors?.[0]?.extensions?.code }).toEqual({
      length,
      status: 400,
      code: 'BAD_USER_INPUT',
    });
    expect(response.errors?.[0]?.extensions?.reason).toBe('query.too_deep');
  }
});

it('refuses the same in a GET query string', async () => {
  const url = `${server.url}/graphql?query=${encodeURIComponent(chain(MAX_FRAGMENT_NESTING + 10))}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': '1' } });
  expect(response.status).toBe(400);
  const body: any = await response.json();
  expect(body.errors[0].extensions.reason).toBe('query.too_deep');
});

it('answers a chain within the limit', async () => {
  const response = await server.graphql(chain(MAX_FRAGMENT_NESTING), {}, { token });
  expect(response.errors).toBeUndefined();
  expect(response.data?.me.id).toEqual(expect.any(String));
});
