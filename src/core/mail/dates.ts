const UTC_PARTS = new Intl.DateTimeFormat('en-GB', {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});

/**
 * "Monday 30 November 2026, 10:15 UTC": a reader in any time zone can tell the day, and no
 * day/month order is guessed. Seconds are dropped, so the time shown is never after the real one.
 */
export function clearUtcTime(date: Date): string {
  const part = Object.fromEntries(UTC_PARTS.formatToParts(date).map(({ type, value }) => [type, value]));
  return `${part.weekday} ${part.day} ${part.month} ${part.year}, ${part.hour}:${part.minute} UTC`;
}

function count(amount: number, unit: string): string {
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

/** "7 days", "24 hours", "1 hour", "90 minutes": the largest unit that states the lifetime exactly. */
export function lifetimeText(seconds: number): string {
  if (seconds % 86_400 === 0 && seconds >= 2 * 86_400) return count(seconds / 86_400, 'day');
  if (seconds % 3_600 === 0 && seconds >= 3_600) return count(seconds / 3_600, 'hour');
  return count(Math.max(1, Math.floor(seconds / 60)), 'minute');
}
