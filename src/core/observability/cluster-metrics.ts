import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../config/config';
import type { Logger } from '../logger';
import { listenForMetrics, localMetrics, type MetricsListener, type MetricsSource } from './metrics-endpoint';

/**
 * A worker's main-port /metrics asks the primary for the cluster's aggregate over IPC. The types are
 * our own namespace (prom-client's are `prom-client:getMetricsReq/Res`), and ids count per worker,
 * as the primary answers the worker that asked.
 */
const AGGREGATE_REQUEST = 'portcullis:metrics-aggregate-request';
const AGGREGATE_ANSWER = 'portcullis:metrics-aggregate-answer';

type AggregateRequest = { type: typeof AGGREGATE_REQUEST; id: number };
type AggregateAnswer = { type: typeof AGGREGATE_ANSWER; id: number; metrics?: string; error?: string };

/** prom-client gives up on a worker after 5 s; the worker waits a little longer for the primary. */
const AGGREGATE_TIMEOUT_MS = 7_000;

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/**
 * This process's metrics as a scrape should see them. In a cluster worker, the registry is offered to
 * the primary's aggregation, and a scrape answers with the aggregate of every worker, so whichever
 * worker the balancer picks, Prometheus sees the whole host.
 */
export function metricsSourceFor(registry: Registry): MetricsSource {
  if (!cluster.isWorker) return localMetrics(registry);
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's listener that answers the primary's requests.
  const aggregator = new AggregatorRegistry();
  let nextId = 0;
  const pending = new Map<number, (answer: AggregateAnswer) => void>();
  process.on('message', (message: unknown) => {
    if (isMessage<AggregateAnswer>(message, AGGREGATE_ANSWER)) pending.get(message.id)?.(message);
  });
  return {
    contentType: aggregator.contentType,
    scrape: () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(
          () => settle({ type: AGGREGATE_ANSWER, id, error: 'the primary did not answer' }),
          AGGREGATE_TIMEOUT_MS,
        );
        const settle = (answer: AggregateAnswer) => {
          clearTimeout(timer);
          pending.delete(id);
          if (answer.metrics !== undefined) resolve(answer.metrics);
          else reject(new Error(`cluster metrics: ${answer.error ?? 'no answer'}`));
        };
        pending.set(id, settle);
        process.send?.({ type: AGGREGATE_REQUEST, id } satisfies AggregateRequest);
      }),
  };
}

/** Whether this process opens METRICS_PORT itself: in a cluster the primary does, for every worker. */
export function opensMetricsPort(): boolean {
  return !cluster.isWorker;
}

/**
 * For the cluster's primary (WORKERS=N), before it forks: answers workers' requests for the aggregate
 * and, with METRICS_PORT, serves that aggregate on it. `close` stops both.
 */
export async function servePrimaryMetrics({ config, logger }: { config: Config; logger: Logger }): Promise<{
  close(): Promise<void>;
}> {
  const aggregator = new AggregatorRegistry();
  const source: MetricsSource = { contentType: aggregator.contentType, scrape: () => aggregator.clusterMetrics() };
  const answerWorker = (worker: Worker, message: unknown) => {
    if (!isMessage<AggregateRequest>(message, AGGREGATE_REQUEST)) return;
    const reply = (answer: Omit<AggregateAnswer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: AGGREGATE_ANSWER, id: message.id, ...answer });
    };
    source.scrape().then(
      (metrics) => reply({ metrics }),
      (error: unknown) => {
        logger.error({ err: error }, 'could not aggregate the workers’ metrics');
        reply({ error: 'aggregation failed' });
      },
    );
  };
  cluster.on('message', answerWorker);
  let listener: MetricsListener | null = null;
  if (config.metrics.port !== undefined) {
    listener = await listenForMetrics(config.metrics.port, config.host, source, config.metrics.token, logger);
  }
  return {
    async close() {
      cluster.off('message', answerWorker);
      await listener?.close();
    },
  };
}
