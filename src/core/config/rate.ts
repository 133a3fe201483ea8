import { parseDurationSeconds } from './duration';

/** An abuse limit: at most `points` attempts per fixed window of `durationSeconds`. */
export type RateLimit = { points: number; durationSeconds: number };

/** Parses "5/1h" (attempts per duration, as in parseDurationSeconds) into a RateLimit; null when malformed. */
export function parseRateLimit(value: string): RateLimit | null {
  const match = /^(\d+)\s*\/\s*(\S+)$/.exec(value.trim());
  if (!match) return null;
  const points = Number(match[1]);
  const durationSeconds = parseDurationSeconds(match[2]);
  if (!Number.isSafeInteger(points) || points < 1 || durationSeconds === null) return null;
  return { points, durationSeconds };
}
