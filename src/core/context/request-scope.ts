/** What is known about the HTTP request being served: handed along explicitly, never ambient. */
export type RequestScope = {
  requestId: string;
  ipAddress: string | null;
  userAgent: string | null;
};

/**
 * The request each error arose in, for the error formatter, which Apollo calls without the
 * request's context. An AsyncLocalStorage held the request before; on Node 20 it installs promise
 * hooks on every promise of the process, which cost about a sixth of a member page's CPU.
 */
const requestIds = new WeakMap<object, string>();

export function noteRequestOf(error: unknown, requestId: string): void {
  if (typeof error === 'object' && error !== null) requestIds.set(error, requestId);
}

/** The request an error (or the error it wraps) was noted for. */
export function requestIdOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return requestIds.get(error) ?? requestIdOf((error as { originalError?: unknown }).originalError ?? null);
}
