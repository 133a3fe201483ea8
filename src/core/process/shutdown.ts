import type { Gateway } from '../../app';
import type { Logger } from '../logger';

/** Time for Apollo, the rate-limit store and the database to stop once HTTP has drained. */
const STOP_AFTER_DRAIN_MS = 15_000;

/**
 * SIGTERM and SIGINT close the gateway: it stops accepting connections, finishes the requests it
 * accepted within the grace period and exits 0. It exits 1 when connections had to be cut at the
 * end of the grace period, when closing fails, or when stopping hangs past its own limit. A repeated
 * signal changes nothing (npm forwards the terminal's SIGINT that node has already received).
 *
 * The handlers are installed before the gateway starts: a signal during start-up (a container
 * stopped while it boots) lets the start finish — it may be initialising the database — and
 * then closes it the same way, so its embedded server is stopped rather than orphaned.
 */
export function stopOnSignals(logger: Logger, graceSeconds: number): { serving(gateway: Gateway): void } {
  let gateway: Gateway | null = null;
  let requested: string | null = null;
  let stopping = false;

  const stop = () => {
    if (stopping || !gateway || !requested) return;
    stopping = true;
    logger.info({ signal: requested, graceSeconds }, 'shutting down');
    setTimeout(
      () => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      },
      graceSeconds * 1000 + STOP_AFTER_DRAIN_MS,
    ).unref();
    gateway.close({ graceMs: graceSeconds * 1000 }).then(
      ({ drained }) => {
        if (!drained) logger.error({ graceSeconds }, 'requests were still running at the end of the grace period');
        else logger.info('stopped');
        process.exit(drained ? 0 : 1);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    if (requested) return;
    requested = signal;
    if (!gateway) logger.info({ signal }, 'stopping once started');
    stop();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  stopWhenOrphaned(() => onSignal('parent exited'));
  return {
    serving(started) {
      gateway = started;
      stop();
    },
  };
}

/** How often the gateway checks that the process that started it is still there. */
const PARENT_CHECK_MS = 1_000;

/**
 * `npx portcullis serve` runs the gateway under npm and a shell; npm passes SIGTERM to the shell,
 * which dies without passing it on. The gateway then finds itself adopted by another process and
 * shuts down as it would on the signal, rather than running on unsupervised.
 */
function stopWhenOrphaned(stop: () => void): void {
  const parent = process.ppid;
  // Started by init, a container's first process or a subreaper: nothing to watch.
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      stop();
    }
  }, PARENT_CHECK_MS);
  timer.unref();
}
