import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { createOrgAs, person, roleId } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'portcullis-outbox-'));
  server = await startTestGateway({ DATA_DIR: dataDir });
});

afterAll(async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('writes mail to DATA_DIR/outbox as .eml files when no SMTP_URL is set', async () => {
  const owner = await person(server, 'outboxowner');
  const orgId = await createOrgAs(server, owner.token, 'Outbox Org');
  const response = await server.graphql(
    'mutation ($input: InviteInput!) { invite(input: $input) { id } }',
    { input: { orgId, email: 'outbox.reader@example.com', roleId: await roleId(server, orgId, 'viewer') } },
    { token: owner.token },
  );
  expect(response.errors).toBeUndefined();
  const outbox = path.join(dataDir, 'outbox');
  const files = (await readdir(outbox)).filter((file) => file.endsWith('.eml'));
  expect(files).toHaveLength(1);
  const message = await simpleParser(await readFile(path.join(outbox, files[0])));
  expect(message.subject).toBe('You are invited to join Outbox Org');
  expect(message.text).toContain('http://portcullis.test/invitations/accept?token=');
  expect(message.html).toContain('http://portcullis.test/invitations/accept?token=');
});
