import { Client } from 'pg';
import { isTransactionControl, splitStatements, StatementProxy } from '../../bench/pg-statement-proxy';
import { ADMIN_DATABASE_URL } from '../support/database';

// The bench's statement counter, fed with real pg traffic: what it counts is what the server ran.
let proxy: StatementProxy;
let client: Client;

beforeAll(async () => {
  const admin = new URL(ADMIN_DATABASE_URL);
  proxy = new StatementProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
  const port = await proxy.listen();
  const through = new URL(ADMIN_DATABASE_URL);
  through.hostname = '127.0.0.1';
  through.port = String(port);
  client = new Client({ connectionString: through.toString() });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await proxy?.close();
});

beforeEach(() => proxy.reset(true));

describe('statement proxy', () => {
  it('counts each statement of a simple query, not semicolons inside quotes or comments', async () => {
    await client.query(`SELECT 'a;b'; SELECT $$x;y$$ /* ; */; -- ;\n SELECT "c;d" FROM (SELECT 1 AS "c;d") t`);
    const counted = proxy.read();
    expect(counted.statements).toBe(3);
    expect(counted.texts[0]).toBe(`SELECT 'a;b'`);
    expect(counted.texts[2]).toContain('"c;d"');
  });

  it('counts an extended-protocol Execute by the text its portal was parsed from', async () => {
    await client.query('SELECT $1::int + 1 AS n', [41]);
    await client.query('SELECT $1::text AS t', ['hello']);
    expect(proxy.read()).toMatchObject({
      statements: 2,
      texts: ['SELECT $1::int + 1 AS n', 'SELECT $1::text AS t'],
    });
  });

  it('resolves a named prepared statement reused without a second Parse', async () => {
    const named = { name: 'bench_named', text: 'SELECT $1::int * 2 AS doubled' };
    await client.query({ ...named, values: [1] });
    await client.query({ ...named, values: [2] });
    expect(proxy.read()).toMatchObject({ statements: 2, texts: [named.text, named.text] });
  });

  it('leaves transaction control out, in either protocol', async () => {
    await client.query('BEGIN');
    await client.query('SET LOCAL statement_timeout = 1000');
    await client.query('SAVEPOINT s1');
    await client.query('SELECT $1::int', [1]);
    await client.query('RELEASE SAVEPOINT s1');
    await client.query('COMMIT');
    await client.query('START TRANSACTION; SELECT 2; ROLLBACK');
    expect(proxy.read()).toEqual({ statements: 2, transactionControl: 7, texts: ['SELECT $1::int', 'SELECT 2'] });
  });

  it('starts a fresh window on reset', async () => {
    await client.query('SELECT 1');
    proxy.reset();
    expect(proxy.read()).toEqual({ statements: 0, transactionControl: 0, texts: [] });
    await client.query('SELECT 1');
    expect(proxy.read().statements).toBe(1);
  });

  it('keeps counting large messages split across TCP chunks', async () => {
    const big = 'x'.repeat(300_000);
    const result = await client.query('SELECT length($1::text) AS n', [big]);
    expect(result.rows[0].n).toBe(300_000);
    expect(proxy.read().statements).toBe(1);
  });
});

describe('statement splitting', () => {
  it('tells transaction control from work', () => {
    for (const text of [
      'BEGIN',
      'commit',
      ' ROLLBACK TO SAVEPOINT a',
      'START TRANSACTION',
      'SET LOCAL x = 1',
      '/* c */ END',
    ]) {
      expect(isTransactionControl(text)).toBe(true);
    }
    for (const text of [
      'SELECT 1',
      'SET search_path = public',
      'UPDATE beginnings SET x = 1',
      'INSERT INTO t VALUES (1)',
    ]) {
      expect(isTransactionControl(text)).toBe(false);
    }
  });

  it('drops empty statements', () => {
    expect(splitStatements(' ; SELECT 1;; -- only a comment\n')).toEqual(['SELECT 1']);
  });
});
