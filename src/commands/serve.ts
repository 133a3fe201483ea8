import { loadConfig } from '../core/config/config';
import { createLogger } from '../core/logger';
import { startTracingFirst } from '../core/observability/tracing-start';
import { runsWorkers, superviseWorkers, workerLogger } from '../core/process/cluster';
import { stopOnSignals } from '../core/process/shutdown';

/**
 * Runs the gateway until SIGTERM or SIGINT; the process then exits once it has drained. With
 * WORKERS above 1 this process runs that many gateways instead (core/process/cluster.ts).
 */
export async function serve(): Promise<void> {
  const config = loadConfig();
  if (runsWorkers(config)) return superviseWorkers(config, createLogger(config.logLevel));
  const logger = workerLogger(createLogger(config.logLevel));
  const signals = stopOnSignals(logger, config.shutdownGraceSeconds);
  const traced = await startTracingFirst(config.tracing, logger);
  // Only now: the instrumentations patch modules as they load (cli.ts loads no command up front).
  const { startGateway } = await import('../app');
  signals.serving(traced(await startGateway(config, logger)));
}
