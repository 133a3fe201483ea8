import { createServer, type Server, type Socket } from 'node:net';
import { Client, DatabaseError, Pool } from 'pg';
import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { isDatabaseUnavailable } from '../../src/core/db/pg-errors';
import { ADMIN_DATABASE_URL } from '../support/database';
import { freePort } from '../support/spawn-gateway';

/** What a statement or connection attempt rejects with. */
async function failureOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the work to fail');
}

/** A pg error as the server sends it: the SQLSTATE in `code`. */
function serverError(code: string, message = 'from the server'): DatabaseError {
  const error = new DatabaseError(message, message.length, 'error');
  error.code = code;
  error.severity = 'FATAL';
  return error;
}

function viaTypeOrm(driverError: Error): QueryFailedError {
  return new QueryFailedError('SELECT 1', [], driverError);
}

/** A TCP server that accepts connections and does what `onConnection` says with each. */
async function fakeServer(onConnection: (socket: Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, server };
}

const closeServer = (server: Server) => new Promise((resolve) => server.close(resolve));

describe('the database cannot be reached or went away', () => {
  it('nothing listens on the port (ECONNREFUSED, as pg reports it)', async () => {
    const client = new Client({ host: '127.0.0.1', port: await freePort(), user: 'postgres' });
    const error = await failureOf(() => client.connect());
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('the server closes the connection (Connection terminated unexpectedly)', async () => {
    const { port, server } = await fakeServer((socket) => socket.destroy());
    try {
      const error = await failureOf(() => new Client({ host: '127.0.0.1', port, user: 'postgres' }).connect());
      expect((error as Error).message).toBe('Connection terminated unexpectedly');
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect(isDatabaseUnavailable(viaTypeOrm(error as Error))).toBe(true);
    } finally {
      await closeServer(server);
    }
  });

  it('the server accepts but never answers: the connect timeout', async () => {
    const sockets: Socket[] = [];
    const { port, server } = await fakeServer((socket) => void sockets.push(socket));
    const pool = new Pool({ host: '127.0.0.1', port, user: 'postgres', connectionTimeoutMillis: 200 });
    try {
      const error = await failureOf(() => pool.query('SELECT 1'));
      expect((error as Error).message).toMatch(/timeout/);
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await pool.end();
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    }
  });

  it('every pooled connection stays busy past the connect timeout', async () => {
    const pool = new Pool({ connectionString: ADMIN_DATABASE_URL, max: 1, connectionTimeoutMillis: 200 });
    const held = await pool.connect();
    try {
      const error = await failureOf(() => pool.query('SELECT 1'));
      expect((error as Error).message).toBe('timeout exceeded when trying to connect');
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      held.release();
      await pool.end();
    }
  });

  it.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['57P02', 'terminating connection because of crash of another server process'],
    ['57P03', 'the database system is shutting down'],
    ['53300', 'sorry, too many clients already'],
    ['08006', 'connection failure'],
    ['08001', 'could not establish connection'],
  ])('the server says %s (%s), directly or through TypeORM', (code, message) => {
    expect(isDatabaseUnavailable(serverError(code, message))).toBe(true);
    expect(isDatabaseUnavailable(viaTypeOrm(serverError(code, message)))).toBe(true);
  });

  it("a transaction's connection that TypeORM already gave back when the server closed it", () => {
    expect(isDatabaseUnavailable(new QueryRunnerAlreadyReleasedError())).toBe(true);
    expect(isDatabaseUnavailable(new QueryRunnerProviderAlreadyReleasedError())).toBe(true);
  });

  it('every address of a host name refused (an AggregateError of socket errors)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    expect(isDatabaseUnavailable(new AggregateError([refused, refused], 'connect failed'))).toBe(true);
  });
});

describe('failures that are not an outage', () => {
  let client: Client;

  beforeAll(async () => {
    client = new Client({ connectionString: ADMIN_DATABASE_URL });
    await client.connect();
    await client.query('CREATE TEMPORARY TABLE outage_probe (id int PRIMARY KEY, amount int CHECK (amount > 0))');
  });

  afterAll(() => client.end());

  it.each([
    ['a unique violation', 'INSERT INTO outage_probe VALUES (1, 1), (1, 1)', '23505'],
    ['a check violation', 'INSERT INTO outage_probe VALUES (2, -1)', '23514'],
    ['a not-null violation', 'INSERT INTO outage_probe VALUES (NULL, 1)', '23502'],
    ['a syntax error', 'SELEC 1', '42601'],
    ['an unknown table', 'SELECT * FROM no_such_table', '42P01'],
    ['a malformed value', "SELECT 'not-a-uuid'::uuid", '22P02'],
  ])('%s, directly or through TypeORM', async (_name, sql, code) => {
    const error = await failureOf(() => client.query(sql));
    expect((error as DatabaseError).code).toBe(code);
    expect(isDatabaseUnavailable(error)).toBe(false);
    expect(isDatabaseUnavailable(viaTypeOrm(error as Error))).toBe(false);
  });

  it('a statement cancelled by statement_timeout', async () => {
    const timed = new Client({ connectionString: ADMIN_DATABASE_URL, statement_timeout: 1 });
    await timed.connect();
    try {
      const error = await failureOf(() => timed.query('SELECT pg_sleep(1)'));
      expect((error as DatabaseError).code).toBe('57014');
      expect(isDatabaseUnavailable(error)).toBe(false);
    } finally {
      await timed.end();
    }
  });

  it('a protocol violation: the server is up, the client is wrong', () => {
    expect(isDatabaseUnavailable(serverError('08P01', 'bind message supplies 2 parameters'))).toBe(false);
  });

  it("another service's connection error wrapped by the gateway (a mail server that cannot be reached)", () => {
    const smtpRefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    expect(isDatabaseUnavailable(new Error('The invitation email could not be sent', { cause: smtpRefused }))).toBe(
      false,
    );
  });

  it("a library's own timeout that reuses a socket code without a system call", () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' }))).toBe(
      false,
    );
  });

  it.each([null, undefined, 'ECONNREFUSED', 42, {}, new Error('Connection terminated by the user')])(
    'not an error of the database: %p',
    (value) => {
      expect(isDatabaseUnavailable(value)).toBe(false);
    },
  );
});
