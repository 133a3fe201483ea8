import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOrgAs, person } from '../support/fixtures';
import { startEmbeddedTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * The chainer reaches the embedded server on a connection of its own (not the request pool's), so
 * records get linked there too, without anyone verifying or exporting.
 */

jest.setTimeout(180_000);

let dataDir: string;
let server: TestGateway;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-embedded-chain-'));
  server = await startEmbeddedTestGateway(dataDir);
});

afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('links the records of the embedded gateway within a second or two of their commit', async () => {
  const owner = await person(server, 'embedded-chain');
  const orgId = await createOrgAs(server, owner.token, 'Embedded Chain Org');
  const started = Date.now();
  let unlinked = -1;
  while (unlinked !== 0 && Date.now() - started < 2_000) {
    [{ unlinked }] = await server.sql('SELECT count(*)::int AS unlinked FROM audit_logs WHERE chain_seq IS NULL');
    if (unlinked !== 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(unlinked).toBe(0);
  const [{ linked }] = await server.sql(
    'SELECT count(*)::int AS linked FROM audit_logs WHERE org_id = $1 AND hash IS NOT NULL',
    [orgId],
  );
  expect(linked).toBeGreaterThan(0);
});
