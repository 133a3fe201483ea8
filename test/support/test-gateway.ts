import { startGateway, type Gateway } from '../../src/app';
import { loadConfig } from '../../src/core/config/config';
import { createLogger, type Logger } from '../../src/core/logger';
import { createTestDatabase } from './database';
import { graphqlRequest, type GraphQLResponse, type RequestOptions } from './graphql-client';

export const OWNER_EMAIL = 'owner@example.com';
export const OWNER_PASSWORD = 'correct horse battery staple';
export const TEST_SECRET_KEY = 'test-secret-key-that-is-long-enough-0123456789';

export type TestGateway = {
  url: string;
  gateway: Gateway;
  databaseUrl: string;
  /** Runs SQL directly against the test database (setup and assertions). */
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  graphql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<GraphQLResponse<T>>;
  /** Signs in and returns the access token, refresh token and user id. */
  login(
    email?: string,
    password?: string,
    orgId?: string,
  ): Promise<{ accessToken: string; refreshToken: string; userId: string }>;
  close(): Promise<void>;
};

/**
 * A real gateway on a random port over real HTTP, against its own fresh PostgreSQL database,
 * bootstrapped with a known owner. bcrypt runs at its lowest cost to keep tests fast.
 */
export async function startTestGateway(
  env: Record<string, string> = {},
  { logger }: { logger?: Logger } = {},
): Promise<TestGateway> {
  const database = await createTestDatabase();
  return startOn(
    database.url,
    () => database.drop(),
    {
      DATABASE_URL: database.url,
      SECRET_KEY: TEST_SECRET_KEY,
      ...env,
    },
    logger,
  );
}

/**
 * The same, on the embedded PostgreSQL server the gateway runs in `dataDir` (no DATABASE_URL);
 * `databaseUrl` reaches that server while the gateway runs. Closing stops the server and keeps
 * the folder.
 */
export async function startEmbeddedTestGateway(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<TestGateway> {
  return startOn(null, async () => undefined, { DATA_DIR: dataDir, ...env });
}

async function startOn(
  databaseUrl: string | null,
  cleanUp: () => Promise<void>,
  env: Record<string, string>,
  logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
): Promise<TestGateway> {
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_POOL_SIZE: '5',
    BCRYPT_COST: '4',
    BOOTSTRAP_EMAIL: OWNER_EMAIL,
    BOOTSTRAP_PASSWORD: OWNER_PASSWORD,
    BOOTSTRAP_ORG: 'Acme',
    PUBLIC_URL: 'http://portcullis.test',
    ...env,
  });
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, logger);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const url = gateway.url;
  const graphql: TestGateway['graphql'] = (query, variables, options) => graphqlRequest(url, query, variables, options);
  return {
    url,
    gateway,
    databaseUrl: databaseUrl ?? connectionUrl(gateway),
    sql: (text, params) => gateway.database.dataSource.query(text, params),
    graphql,
    async login(email = OWNER_EMAIL, password = OWNER_PASSWORD, orgId) {
      const response = await graphql(
        `
          mutation ($email: String!, $password: String!, $orgId: ID) {
            login(email: $email, password: $password, orgId: $orgId) {
              accessToken
              refreshToken
              user {
                id
              }
            }
          }
        `,
        { email, password, orgId },
      );
      if (!response.data?.login) throw new Error(`login failed: ${JSON.stringify(response.errors)}`);
      const { accessToken, refreshToken, user } = response.data.login;
      return { accessToken, refreshToken, userId: user.id };
    },
    async close() {
      await gateway.close();
      await cleanUp();
    },
  };
}

function connectionUrl(gateway: Gateway): string {
  const options = gateway.database.dataSource.options as { host: string; port: number; password: string };
  return `postgres://postgres:${encodeURIComponent(options.password)}@${options.host}:${options.port}/postgres`;
}
