import { startTestGateway, type TestGateway } from '../support/test-gateway';

/** BOOTSTRAP_PASSWORD alone: the first owner gets the documented default email. */

const PASSWORD = 'only the password was configured';
let server: TestGateway;

beforeAll(async () => {
  // An empty BOOTSTRAP_EMAIL is unset, as in a shell's `BOOTSTRAP_EMAIL= command`.
  server = await startTestGateway({ BOOTSTRAP_EMAIL: '', BOOTSTRAP_PASSWORD: PASSWORD });
});

afterAll(async () => {
  await server.close();
});

it('lets owner@portcullis.local sign in with BOOTSTRAP_PASSWORD as a super user', async () => {
  const { userId } = await server.login('owner@portcullis.local', PASSWORD);
  const [user] = await server.sql('SELECT email, super_user FROM users WHERE id = $1', [userId]);
  expect(user).toEqual({ email: 'owner@portcullis.local', super_user: true });
  expect(await server.sql('SELECT count(*)::int AS n FROM users')).toEqual([{ n: 1 }]);
});
