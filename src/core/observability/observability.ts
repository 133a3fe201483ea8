import { collectDefaultMetrics, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { Config } from '../config/config';
import type { Logger } from '../logger';
import { metricsSourceFor, opensMetricsPort } from './cluster-metrics';
import { createGatewayMetrics, type GatewayMetrics } from './gateway-metrics';
import { listenForMetrics, type MetricsListener, type MetricsSource } from './metrics-endpoint';
import { registerStateGauges } from './state-gauges';

export type Observability = {
  metrics: GatewayMetrics;
  /** What the main port's /metrics serves; null when METRICS_PORT moves it off the main port (404). */
  mainPortMetrics: MetricsSource | null;
  /** Opens the METRICS_PORT listener where this process is the one to (cluster-metrics.ts). */
  listen(): Promise<MetricsListener | null>;
};

/**
 * One registry per gateway, never prom-client's global one: several gateways may run in one process
 * (tests), and each must count only its own requests.
 */
export function createObservability(config: Config, db: DataSource, logger: Logger): Observability {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerStateGauges(registry, db);
  const metrics = createGatewayMetrics(registry);
  const source = metricsSourceFor(registry);
  const { port, token } = config.metrics;
  return {
    metrics,
    mainPortMetrics: port === undefined ? source : null,
    listen: async () =>
      port !== undefined && opensMetricsPort() ? listenForMetrics(port, config.host, source, token, logger) : null,
  };
}
