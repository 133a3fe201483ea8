import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../config/config';
import type { Logger } from '../logger';
import { listenForMetrics, localMetrics, type MetricsListener, type MetricsSource } from './metrics-endpoint';

/**
 * Our own IPC, not prom-client's clusterMetrics(): that asks every connected worker and fails the
 * whole scrape when one has not answered within 5 s, and a worker spends longer than that opening the
 * database and migrating, so every scrape failed while a worker started or was replaced. The primary
 * here asks only the workers that serve, and leaves out one that does not answer in time.
 *  - a worker's main-port /metrics asks the primary for the aggregate (AGGREGATE_*);
 *  - the primary asks each serving worker for its registry as JSON (SNAPSHOT_*) and sums them with
 *    prom-client's AggregatorRegistry.aggregate, which applies each metric's aggregator.
 * Ids count per asker, and answers go back to the process that asked.
 */
const AGGREGATE_REQUEST = 'portcullis:metrics-aggregate-request';
const AGGREGATE_ANSWER = 'portcullis:metrics-aggregate-answer';
const SNAPSHOT_REQUEST = 'portcullis:metrics-snapshot-request';
const SNAPSHOT_ANSWER = 'portcullis:metrics-snapshot-answer';

type AggregateRequest = { type: typeof AGGREGATE_REQUEST; id: number };
type AggregateAnswer = { type: typeof AGGREGATE_ANSWER; id: number; metrics?: string; error?: string };
type SnapshotRequest = { type: typeof SNAPSHOT_REQUEST; id: number };
type SnapshotAnswer = { type: typeof SNAPSHOT_ANSWER; id: number; snapshot: object[] };

/** How long the primary waits for one worker's registry before leaving it out of a scrape. */
const SNAPSHOT_TIMEOUT_MS = 2_000;
/** A worker waits a little longer than that for the primary's aggregate. */
const AGGREGATE_TIMEOUT_MS = 4_000;

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/**
 * This process's metrics as a scrape should see them. In a cluster worker, the registry is offered to
 * the primary's aggregation, and a scrape answers with the aggregate of every serving worker, so
 * whichever worker the balancer picks, Prometheus sees the whole host.
 */
export function metricsSourceFor(registry: Registry): MetricsSource {
  if (!cluster.isWorker) return localMetrics(registry);
  let nextId = 0;
  const pending = new Map<number, (answer: AggregateAnswer) => void>();
  process.on('message', (message: unknown) => {
    if (isMessage<AggregateAnswer>(message, AGGREGATE_ANSWER)) pending.get(message.id)?.(message);
    if (isMessage<SnapshotRequest>(message, SNAPSHOT_REQUEST)) {
      const { id } = message;
      void registry.getMetricsAsJSON().then((snapshot) => {
        process.send?.({ type: SNAPSHOT_ANSWER, id, snapshot } satisfies SnapshotAnswer);
      });
    }
  });
  return {
    contentType: registry.contentType,
    scrape: () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(
          () => settle({ type: AGGREGATE_ANSWER, id, error: 'the primary did not answer' }),
          AGGREGATE_TIMEOUT_MS,
        ).unref();
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

/** One worker's registry as JSON, or null when it does not answer in time (starting, stuck, gone). */
function snapshotOf(worker: Worker, id: number): Promise<object[] | null> {
  return new Promise((resolve) => {
    const done = (snapshot: object[] | null) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(snapshot);
    };
    const onMessage = (message: unknown) => {
      if (isMessage<SnapshotAnswer>(message, SNAPSHOT_ANSWER) && message.id === id) done(message.snapshot);
    };
    const timer = setTimeout(() => done(null), SNAPSHOT_TIMEOUT_MS);
    worker.on('message', onMessage);
    if (!worker.isConnected()) return done(null);
    worker.send({ type: SNAPSHOT_REQUEST, id } satisfies SnapshotRequest, (error) => error && done(null));
  });
}

/** Whether this process opens METRICS_PORT itself: in a cluster the primary does, for every worker. */
export function opensMetricsPort(): boolean {
  return !cluster.isWorker;
}

/**
 * For the cluster's primary (WORKERS=N), before it forks: answers workers' requests for the aggregate
 * of `workers()` (those serving) and, with METRICS_PORT, serves that aggregate on it. `close` stops
 * both.
 */
export async function servePrimaryMetrics({
  config,
  logger,
  workers,
}: {
  config: Config;
  logger: Logger;
  workers: () => Iterable<Worker>;
}): Promise<{ close(): Promise<void> }> {
  let nextId = 0;
  const aggregate = async () => {
    const snapshots = await Promise.all([...workers()].map((worker) => snapshotOf(worker, nextId++)));
    return AggregatorRegistry.aggregate(snapshots.filter((snapshot) => snapshot !== null)).metrics();
  };
  const source: MetricsSource = { contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE, scrape: aggregate };
  const answerWorker = (worker: Worker, message: unknown) => {
    if (!isMessage<AggregateRequest>(message, AGGREGATE_REQUEST)) return;
    const reply = (answer: Omit<AggregateAnswer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: AGGREGATE_ANSWER, id: message.id, ...answer });
    };
    aggregate().then(
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
