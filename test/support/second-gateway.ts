import { freePort, gatewayEnv, spawnScript, type SpawnedScript } from './spawn-gateway';
import { TEST_SECRET_KEY, type TestGateway } from './test-gateway';

export type SecondGateway = { spawned: SpawnedScript; url: string };

/**
 * Another gateway process on the test gateway's database, as a second replica would run: started,
 * not yet waited for (`waitForHealthy`), so a test can prepare data while it boots.
 */
export async function spawnSecondGateway(
  server: TestGateway,
  env: Record<string, string> = {},
): Promise<SecondGateway> {
  const port = await freePort();
  const spawned = spawnScript(
    'src/main.ts',
    [],
    gatewayEnv({
      DATABASE_URL: server.databaseUrl,
      SECRET_KEY: TEST_SECRET_KEY,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: 'http://portcullis.test',
      LOG_LEVEL: 'warn',
      ...env,
    }),
  );
  return { spawned, url: `http://127.0.0.1:${port}` };
}
