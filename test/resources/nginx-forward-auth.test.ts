import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOrgAs, person, type Person } from '../support/fixtures';
import { startNginxForwardAuth, type Nginx } from '../support/nginx';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let server: TestGateway;
let upstream: Server;
let nginx: Nginx;
let owner: Person;
let orgId: string;

/** The protected service: it echoes the identity nginx forwarded. */
function startUpstream(): Promise<Server> {
  const echo = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ userId: req.headers['x-user-id'], orgId: req.headers['x-org-id'], path: req.url }));
  });
  return new Promise((resolve) => echo.listen(0, '127.0.0.1', () => resolve(echo)));
}

async function serviceAccountKey(
  name: string,
  roleId: string,
): Promise<{ accountId: string; keyId: string; token: string }> {
  const account = await server.graphql(
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
    { input: { orgId, name, roleId } },
    { token: owner.token },
  );
  const accountId = account.data.createServiceAccount.id;
  const key = await server.graphql(
    'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token apiKey { id } } }',
    { input: { ownerId: accountId, name: `${name} key`, scopes: ['org:read'] } },
    { token: owner.token },
  );
  return { accountId, keyId: key.data.createKey.apiKey.id, token: key.data.createKey.token };
}

const throughNginx = (token: string) =>
  fetch(`${nginx.url}/orders/42`, { headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  server = await startTestGateway();
  upstream = await startUpstream();
  nginx = await startNginxForwardAuth(
    server.url,
    `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    'orders-api',
  );
  owner = await person(server, 'nginxowner');
  orgId = await createOrgAs(server, owner.token, 'Nginx Org');
});

afterAll(async () => {
  await nginx?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
  await server.close();
});

it('lets an allowed key through with X-User-Id, and refuses a revoked key (401) and an ungranted one (403)', async () => {
  const role = await server.graphql(
    'mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }',
    { input: { orgId, name: 'Machine', permissions: ['org:read'] } },
    { token: owner.token },
  );
  const machineRole = role.data.createRole.id;
  const resource = await server.graphql(
    'mutation ($orgId: ID!) { createResource(input: { orgId: $orgId, name: "orders-api" }) { id } }',
    { orgId },
    { token: owner.token },
  );
  const allowed = await serviceAccountKey('orders-reader', machineRole);
  const ungranted = await serviceAccountKey('nosy-bot', machineRole);
  await server.graphql(
    'mutation ($r: ID!, $p: ID!) { grantAccess(resourceId: $r, principalId: $p, level: READ) { id } }',
    { r: resource.data.createResource.id, p: allowed.accountId },
    { token: owner.token },
  );

  const ok = await throughNginx(allowed.token);
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ userId: allowed.accountId, orgId, path: '/orders/42' });

  expect((await throughNginx(ungranted.token)).status).toBe(403);

  await server.graphql(
    'mutation ($id: ID!) { revokeKey(id: $id) { id } }',
    { id: allowed.keyId },
    { token: owner.token },
  );
  expect((await throughNginx(allowed.token)).status).toBe(401);
  expect((await fetch(`${nginx.url}/orders/42`)).status).toBe(401);
});
