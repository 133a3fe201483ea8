/**
 * A two-worker cluster around core/observability/cluster-metrics.ts, for cluster-metrics.test.ts:
 * each worker counts its own requests in its own registry; the primary serves the aggregate on
 * METRICS_PORT, and worker 1 asks the primary for it as a main-port /metrics would; a third worker
 * never answers, as one still starting would not. Prints one
 * JSON line: { viaWorker, viaPort }.
 */
import cluster from 'node:cluster';
import { Counter, Gauge, Registry } from 'prom-client';
import { loadConfig } from '../../src/core/config/config';
import { createLogger } from '../../src/core/logger';
import { metricsSourceFor, servePrimaryMetrics } from '../../src/core/observability/cluster-metrics';

const WORKERS = 2;

async function primary() {
  const config = loadConfig({ HOST: '127.0.0.1', METRICS_PORT: process.env.METRICS_PORT });
  const workers = Array.from({ length: WORKERS }, () => cluster.fork());
  // One more that never answers, as a worker still starting (or stuck) would not: it is left out
  // after the primary's wait, instead of failing the scrape.
  const silent = cluster.fork({ SILENT_WORKER: '1' });
  const served = await servePrimaryMetrics({
    config,
    logger: createLogger('warn'),
    workers: () => [...workers, silent],
  });
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('message', resolve))));
  const viaWorker = await new Promise<string>((resolve) => {
    // The worker's request for the aggregate arrives on this channel too.
    workers[0].on('message', (message: { body?: string }) => {
      if (message.body !== undefined) resolve(message.body);
    });
    workers[0].send({ scrape: true });
  });
  const viaPort = await (await fetch(`http://127.0.0.1:${config.metrics.port}/metrics`)).text();
  process.stdout.write(`${JSON.stringify({ viaWorker, viaPort })}\n`);
  for (const worker of [...workers, silent]) worker.kill();
  await served.close();
}

function worker() {
  const registry = new Registry();
  const requests = new Counter({
    name: 'test_requests_total',
    help: 'h',
    labelNames: ['route'],
    registers: [registry],
  });
  new Gauge({ name: 'test_shared_total', help: 'h', aggregator: 'max', registers: [registry] }).set(7);
  requests.inc({ route: '/graphql' }, cluster.worker?.id ?? 0);
  const source = metricsSourceFor(registry);
  process.on('message', (message: { scrape?: boolean }) => {
    if (!message.scrape) return;
    void source.scrape().then((body) => process.send?.({ body }));
  });
  process.send?.({ ready: true });
}

if (cluster.isPrimary) {
  primary().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
} else if (process.env.SILENT_WORKER) {
  setInterval(() => undefined, 60_000);
} else {
  worker();
}
