import type { Gateway } from '../../app';
import type { Logger } from '../logger';
import { parentOf, processCommand } from './processes';

/** Time for Apollo, the rate-limit store and the database to stop once HTTP has drained. */
const STOP_AFTER_DRAIN_MS = 15_000;

/** How long a gateway may take to stop after the signal before it gives up (and exits 1). */
export function stopDeadlineMs(graceSeconds: number): number {
  return graceSeconds * 1000 + STOP_AFTER_DRAIN_MS;
}

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

  // Runs once: when the first signal has come and the gateway has started, whichever is last.
  const stop = () => {
    if (!gateway || !requested) return;
    logger.info({ signal: requested, graceSeconds }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, stopDeadlineMs(graceSeconds)).unref();
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
  onStopRequest((signal) => {
    requested = signal;
    if (!gateway) logger.info({ signal }, 'stopping once started');
    stop();
  });
  return {
    serving(started) {
      gateway = started;
      stop();
    },
  };
}

/**
 * Calls `stop` once, on the first SIGTERM or SIGINT, or when the npm that started this process is
 * gone; later requests change nothing (npm forwards the terminal's SIGINT that node already has).
 */
export function onStopRequest(stop: (reason: string) => void): void {
  let requested = false;
  const request = (reason: string) => {
    if (requested) return;
    requested = true;
    stop(reason);
  };
  process.on('SIGTERM', () => request('SIGTERM'));
  process.on('SIGINT', () => request('SIGINT'));
  stopWhenOrphaned(() => request('parent exited'));
}

/** How often the gateway checks that the process that started it is still there. */
const PARENT_CHECK_MS = 1_000;

/** npm's command line (`npm exec`, `npx`, `npm-cli.js`), which starts the gateway through a shell. */
const NPM_COMMAND = /(^|[\s/])(npm|npx)(-cli\.js)?(\s|$)/;

/**
 * `npx portcullis serve` runs the gateway under npm and a shell; npm passes SIGTERM to the shell,
 * which dies without passing it on. Started that way, the gateway watches its parent and, once
 * adopted by another process, shuts down as it would on the signal. Started any other way (a
 * script that backgrounds it and exits, nohup, a supervisor), it is left alone.
 */
function stopWhenOrphaned(stop: () => void): void {
  const parent = process.ppid;
  void startedByNpm(parent).then((byNpm) => {
    if (!byNpm) return;
    const timer = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(timer);
        stop();
      }
    }, PARENT_CHECK_MS);
    timer.unref();
  });
}

async function startedByNpm(parent: number): Promise<boolean> {
  if (parent <= 1) return false;
  const grandparent = await parentOf(parent);
  const commands = await Promise.all([parent, grandparent].map((pid) => (pid ? processCommand(pid) : null)));
  return commands.some((command) => command !== null && NPM_COMMAND.test(command));
}
