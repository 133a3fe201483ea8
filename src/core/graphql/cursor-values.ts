/** PostgreSQL's ISO output of a timestamptz: date, time, optional fraction, UTC offset. */
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2})(?::?(\d{2}))?(?::(\d{2}))?)$/;

/**
 * Whether a cursor's sort value is a timestamptz PostgreSQL will accept, as its own `::text` writes
 * them: a forged value must fail here as bad input, not in the database as an unexpected error.
 */
export function isTimestampText(text: string): boolean {
  if (text === 'infinity' || text === '-infinity') return true;
  const match = ISO_TIMESTAMP.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const [offsetHours, offsetMinutes, offsetSeconds] = match.slice(7).map((part) => Number(part ?? 0));
  // setUTCFullYear, unlike Date.UTC, keeps years below 100 as they are.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const realDate = year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  const realTime = hour < 24 && minute < 60 && second < 60;
  const realOffset = offsetHours <= 15 && offsetMinutes < 60 && offsetSeconds < 60;
  return realDate && realTime && realOffset;
}

/** The largest PostgreSQL bigint, the type of audit sequence numbers. */
const MAX_BIGINT = 9223372036854775807n;

/** Whether text is a non-negative bigint PostgreSQL will accept. */
export function isBigintText(text: string): boolean {
  return /^\d{1,19}$/.test(text) && BigInt(text) <= MAX_BIGINT;
}
