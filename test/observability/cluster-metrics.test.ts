import path from 'node:path';
import { freePort, gatewayEnv, runScript } from '../support/spawn-gateway';
import { valueOf } from './metrics-text';

it('aggregates the workers’ registries, both on METRICS_PORT and for a worker’s own /metrics', async () => {
  const port = await freePort();
  const run = await runScript(
    path.join(__dirname, 'cluster-metrics-script.ts'),
    [],
    gatewayEnv({ METRICS_PORT: String(port) }),
    30_000,
  );
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const { viaWorker, viaPort } = JSON.parse(run.stdout.trim().split('\n').pop() as string);
  for (const text of [viaWorker, viaPort]) {
    // Worker ids 1 and 2 counted 1 and 2 requests: the sum is the host's.
    expect(valueOf(text, 'test_requests_total', { route: '/graphql' })).toBe(3);
    // A value every worker reads alike (sessions) must not multiply.
    expect(valueOf(text, 'test_shared_total')).toBe(7);
  }
});
