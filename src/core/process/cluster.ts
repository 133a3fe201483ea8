import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import type { Config } from '../config/config';
import type { Logger } from '../logger';
import { servePrimaryMetrics } from '../observability/cluster-metrics';
import { onStopRequest, stopDeadlineMs } from './shutdown';

/** The first replacement of a dead worker waits this long; each further one in a row twice as long. */
const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** Replacements that die before serving, in a row, after which a host with no worker left gives up. */
const MAX_FAILED_RESTARTS = 5;
/**
 * A worker must serve this long before its start counts as a recovery: one that crashes soon after
 * it listens (a poison request, a failing timer) must not reset the backoff to a restart a second.
 */
const STABLE_AFTER_MS = 30_000;
/** Workers drain on their own deadline; this is for one that hangs past it. */
const KILL_AFTER_DEADLINE_MS = 5_000;

/** Whether this `serve` is the primary that runs WORKERS gateway processes rather than a gateway. */
export function runsWorkers(config: Config): boolean {
  return config.workers > 1 && cluster.isPrimary;
}

/** In a worker, every log line names it (the cluster's worker id; replacements get new ids). */
export function workerLogger(logger: Logger): Logger {
  return cluster.isWorker && cluster.worker ? logger.child({ worker: cluster.worker.id }) : logger;
}

/**
 * The primary of `WORKERS=N`: it forks N workers, each a whole gateway (`serve` again) sharing the
 * listening port through node:cluster, and opens no database itself. A worker that dies after it
 * served is replaced with backoff, which resets only once a worker has served STABLE_AFTER_MS. One
 * that dies before it ever listened means the start itself fails (a database refusing connections,
 * a bad secret), which a restart would only repeat: at first start, or after MAX_FAILED_RESTARTS in
 * a row with no worker left serving, every worker is stopped and the primary exits 1 (the worker
 * wrote the reason to stderr); while others still serve, replacements go on at the longest delay. SIGTERM or SIGINT goes to every worker, which drains
 * as a single gateway does (SHUTDOWN_GRACE); the primary exits once all have exited, 0 only when
 * every one did. Scrapes of any worker's /metrics, and of METRICS_PORT (which the primary serves),
 * answer the sum over all workers.
 */
export async function superviseWorkers(config: Config, logger: Logger): Promise<void> {
  const live = new Set<Worker>();
  const serving = new Set<Worker>();
  const metrics = await servePrimaryMetrics({ config, logger, workers: () => serving });
  let everServed = false;
  let failedRestarts = 0;
  let restartMs = RESTART_MIN_MS;
  const pendingRestarts = new Set<NodeJS.Timeout>();
  let stopping = false;
  let exitCode = 0;

  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
    let stable: NodeJS.Timeout | null = null;
    worker.once('listening', () => {
      serving.add(worker);
      everServed = true;
      failedRestarts = 0;
      stable = setTimeout(() => (restartMs = RESTART_MIN_MS), STABLE_AFTER_MS).unref();
      logger.info({ worker: worker.id, pid: worker.process.pid }, 'worker serving');
    });
    worker.once('exit', (code, signal) => {
      if (stable) clearTimeout(stable);
      exited(worker, code, signal);
    });
  };

  const restartLater = () => {
    const timer = setTimeout(() => {
      pendingRestarts.delete(timer);
      fork();
    }, restartMs);
    pendingRestarts.add(timer);
    restartMs = Math.min(restartMs * 2, RESTART_MAX_MS);
  };

  const finish = () => {
    logger.info({ exitCode }, 'every worker has stopped');
    void metrics.close().finally(() => process.exit(exitCode));
  };

  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const timer of pendingRestarts) clearTimeout(timer);
    pendingRestarts.clear();
    for (const worker of live) worker.process.kill(signal);
    setTimeout(
      () => {
        logger.error('workers took too long to stop; killing them');
        for (const worker of live) worker.process.kill('SIGKILL');
        process.exit(1);
      },
      stopDeadlineMs(config.shutdownGraceSeconds) + KILL_AFTER_DEADLINE_MS,
    ).unref();
    if (live.size === 0) finish();
  };

  const exited = (worker: Worker, code: number | null, signal: string | null) => {
    live.delete(worker);
    const served = serving.delete(worker);
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (live.size === 0) finish();
      return;
    }
    if (!served && (!everServed || (++failedRestarts >= MAX_FAILED_RESTARTS && serving.size === 0))) {
      logger.error({ worker: worker.id, code, signal }, 'a worker failed to start; stopping every worker');
      exitCode = 1;
      stopAll('SIGTERM');
      return;
    }
    if (failedRestarts >= MAX_FAILED_RESTARTS) restartMs = RESTART_MAX_MS;
    logger.error({ worker: worker.id, code, signal, restartInMs: restartMs }, 'worker exited; starting another');
    restartLater();
  };

  onStopRequest((reason) => {
    logger.info({ signal: reason, workers: live.size }, 'stopping every worker');
    stopAll(reason === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
  });
  // Workers run the command line this primary was loaded with (compiled, or the sources under
  // ts-node), not bin/portcullis.js again: a replacement must not rebuild dist/ under the others.
  // The workers accept connections themselves (the operating system spreads them) rather than
  // node's round robin, where the primary accepts and hands each connection over: one handed to a
  // worker the moment it died stayed open in the primary, never answered (node keeps it until a
  // reply that never comes).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: path.join(__dirname, '..', '..', `cli${path.extname(__filename)}`), args: ['serve'] });
  logger.info({ workers: config.workers }, 'starting workers');
  for (let started = 0; started < config.workers; started++) fork();
}
