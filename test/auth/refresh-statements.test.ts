import type { Pool } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * refreshSession is the most frequent write there is, so its SQL is budgeted: at most 5 statements
 * per refresh, counting the rate limits' (which go through the pg pool, not TypeORM) and not
 * counting transaction control.
 */
const REFRESH = `mutation ($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken user { id email } } }`;
const TRANSACTION_CONTROL = /^\s*(START TRANSACTION|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|SET LOCAL)\b/i;

let server: TestGateway;

beforeAll(async () => {
  server = await startTestGateway();
});

afterAll(async () => {
  await server.close();
});

/** The statements (TypeORM's and the rate-limit store's) that `run` issues, without transaction control. */
async function statementsOf(run: () => Promise<unknown>): Promise<string[]> {
  const counter = jest.spyOn(server.gateway.database.statements, 'logQuery');
  const pool = (server.gateway.database.dataSource.driver as PostgresDriver).master as Pool;
  const store = jest.spyOn(pool, 'query');
  try {
    await run();
    const texts = [
      ...(counter.mock.calls as unknown as Array<[string]>).map(([text]) => text),
      ...(store.mock.calls as unknown as Array<[string | { text: string }]>).map(([query]) =>
        typeof query === 'string' ? query : query.text,
      ),
    ];
    return texts.filter((text) => !TRANSACTION_CONTROL.test(text));
  } finally {
    counter.mockRestore();
    store.mockRestore();
  }
}

it('refreshes a session in at most 5 SQL statements, rate limits included', async () => {
  let { refreshToken } = await server.login();
  // Several refreshes of one session: the first and the later ones may differ (counters created, then updated).
  for (let round = 0; round < 3; round++) {
    let answer: any;
    const statements = await statementsOf(async () => {
      answer = await server.graphql(REFRESH, { token: refreshToken });
    });
    expect(answer.errors).toBeUndefined();
    refreshToken = answer.data.refreshSession.refreshToken;
    // The rate limits' statements are among them: if they were not seen, the count would prove nothing.
    expect(statements.some((text) => /rate_limits/.test(text))).toBe(true);
    // Over budget, the failure lists every statement.
    expect(statements.length <= 5 ? [] : statements).toEqual([]);
  }
});

it('charges no rate-limit counter for a token that is accepted, and both for one that is not', async () => {
  const counters = async (limit: string) =>
    server.sql(`SELECT key, points FROM rate_limits WHERE key LIKE $1 ORDER BY key`, [`${limit}:%`]);
  const { refreshToken } = await server.login();
  const perAddress = await counters('refreshPerIp');
  const perToken = await counters('refreshPerToken');
  const answer = await server.graphql(REFRESH, { token: refreshToken });
  expect(answer.errors).toBeUndefined();
  expect(await counters('refreshPerIp')).toEqual(perAddress);
  expect(await counters('refreshPerToken')).toEqual(perToken);
  // The spent token again: refused (and its session ended), and counted per address and per token.
  const replay = await server.graphql(REFRESH, { token: refreshToken });
  expect(replay.errors?.[0].extensions?.reason).toBe('auth.invalid_refresh_token');
  const [address] = await counters('refreshPerIp');
  expect(address.points).toBe((perAddress[0]?.points ?? 0) + 1);
  expect(await counters('refreshPerToken')).toHaveLength(perToken.length + 1);
});
