import { freePort, gatewayEnv, spawnScript, waitForHealthy, type SpawnedScript } from './spawn-gateway';
import { OWNER_EMAIL, OWNER_PASSWORD, TEST_SECRET_KEY } from './test-gateway';

export type FleetMember = { spawned: SpawnedScript; port: number; address: string };

/**
 * `count` gateway processes behind a balancer, started at once (they race on migrations and on the
 * first owner, OWNER_EMAIL) and waited for: loopback, TRUST_PROXY=1, a fast bcrypt. `env` adds the
 * database settings and anything else.
 */
export async function startGatewayFleet(count: number, env: Record<string, string>): Promise<FleetMember[]> {
  const fleet = await Promise.all(
    Array.from({ length: count }, async () => {
      const port = await freePort();
      const spawned = spawnScript(
        'src/main.ts',
        [],
        gatewayEnv({
          SECRET_KEY: TEST_SECRET_KEY,
          HOST: '127.0.0.1',
          PORT: String(port),
          PUBLIC_URL: 'http://portcullis.test',
          TRUST_PROXY: '1',
          BCRYPT_COST: '4',
          BOOTSTRAP_EMAIL: OWNER_EMAIL,
          BOOTSTRAP_PASSWORD: OWNER_PASSWORD,
          BOOTSTRAP_ORG: 'Acme',
          LOG_LEVEL: 'warn',
          SHUTDOWN_GRACE: '5s',
          ...env,
        }),
      );
      return { spawned, port, address: `127.0.0.1:${port}` };
    }),
  );
  await Promise.all(fleet.map((member) => waitForHealthy(member.spawned, `http://${member.address}`, 150_000)));
  return fleet;
}
