import { createLogger, type Logger } from '../../src/core/logger';

export type CapturedLogs = { logger: Logger; lines: string[]; parsed(): Array<Record<string, any>> };

/** A gateway logger whose every line is kept, as written, for assertions. */
export function captureLogs(level: string): CapturedLogs {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line)) };
}
