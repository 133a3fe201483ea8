import type { GraphQLResponse, RequestOptions } from '../support/graphql-client';
import type { SmtpSink } from '../support/smtp-sink';

let lastOctet = 0;

/** A source address no earlier request in this file used (TEST-NET-2). */
export function freshAddress(): string {
  lastOctet += 1;
  return `198.51.${100 + Math.floor(lastOctet / 250)}.${lastOctet % 250}`;
}

/**
 * Request options as sent through one trusted proxy (TRUST_PROXY=1) for a client at `address`:
 * the proxy appended the address; anything the client wrote itself stands to its left.
 */
export function from(address: string, clientWritten: string[] = [], token?: string): RequestOptions {
  return { token, headers: { 'x-forwarded-for': [...clientWritten, address].join(', ') } };
}

/** Asserts a RATE_LIMITED refusal, with retryAfter in whole seconds and the same Retry-After header. */
export function expectRateLimited(response: GraphQLResponse, maxSeconds = 3600): number {
  const error = response.errors?.[0];
  expect(error?.extensions?.code).toBe('RATE_LIMITED');
  const retryAfter = error?.extensions?.retryAfter;
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  expect(response.headers.get('retry-after')).toBe(String(retryAfter));
  return retryAfter;
}

const isRateLimited = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.code === 'RATE_LIMITED';

/** Splits answers into those refused by a limit and the rest. */
export function partition(responses: GraphQLResponse[]) {
  return { refused: responses.filter(isRateLimited), answered: responses.filter((r) => !isRateLimited(r)) };
}

/**
 * The messages to `to` that arrived after `since`, once `expected` of them have (or `deadlineMs`
 * passed) and a further `quietMs` brought no more, so a message too many still shows. Mail goes
 * out after the answer, so how long after it arrives says nothing about whether it was sent.
 */
export async function settledMailsTo(
  sink: SmtpSink,
  to: string,
  since: number,
  expected: number,
  { deadlineMs = 15_000, quietMs = 1000 } = {},
) {
  const deadline = Date.now() + deadlineMs;
  while (mailsTo(sink, to, since).length < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await new Promise((resolve) => setTimeout(resolve, quietMs));
  return mailsTo(sink, to, since);
}

function mailsTo(sink: SmtpSink, to: string, since: number) {
  return sink.messages
    .slice(since)
    .filter((mail) => [mail.to].flat().some((address) => address?.text.toLowerCase().includes(to.toLowerCase())));
}
