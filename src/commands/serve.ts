import { startGateway } from '../app';
import { loadConfig } from '../core/config/config';
import { createLogger } from '../core/logger';
import { stopOnSignals } from '../core/process/shutdown';

/** Runs the gateway until SIGTERM or SIGINT; the process then exits once it has drained. */
export async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const signals = stopOnSignals(logger, config.shutdownGraceSeconds);
  signals.serving(await startGateway(config, logger));
}
