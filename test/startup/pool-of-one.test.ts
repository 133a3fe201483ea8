import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedTestGateway, startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * DATABASE_POOL_SIZE=1 once never became healthy: the migration lock held the pool's only
 * connection while the migrations waited for one. The lock now has a connection of its own.
 */

jest.setTimeout(120_000);

async function servesConcurrentRequests(server: TestGateway) {
  const { accessToken } = await server.login();
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => server.graphql('{ me { email } }', {}, { token: accessToken })),
  );
  for (const answer of answers) expect(answer.errors).toBeUndefined();
}

it('starts and serves with a pool of one connection on PostgreSQL', async () => {
  const server = await startTestGateway({ DATABASE_POOL_SIZE: '1' });
  try {
    await servesConcurrentRequests(server);
  } finally {
    await server.close();
  }
});

it('starts and serves with a pool of one connection on the embedded server', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-pool-of-one-'));
  try {
    const server = await startEmbeddedTestGateway(dataDir, { DATABASE_POOL_SIZE: '1' });
    try {
      await servesConcurrentRequests(server);
    } finally {
      await server.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
