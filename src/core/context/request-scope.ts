import { AsyncLocalStorage } from 'node:async_hooks';

/** What is known about the HTTP request being served, reachable from any code it calls. */
export type RequestScope = {
  requestId: string;
  ipAddress: string | null;
  userAgent: string | null;
};

const storage = new AsyncLocalStorage<RequestScope>();

export function runInRequestScope<T>(scope: RequestScope, work: () => T): T {
  return storage.run(scope, work);
}

export function currentRequest(): RequestScope | undefined {
  return storage.getStore();
}
