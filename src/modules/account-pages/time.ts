import { html, type Html } from './html';

const FORMAT = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });

/** A moment as people read it, in UTC (the gateway does not know the reader's zone), machine-readable too. */
export function dateTime(moment: Date): Html {
  return html`<time datetime="${moment.toISOString()}">${FORMAT.format(moment)} UTC</time>`;
}
