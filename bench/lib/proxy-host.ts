/**
 * The statement proxies of a bench run, in a process of their own so that the load generator's
 * busy event loop never delays a server's database round trips. Driven over IPC by proxies.ts.
 */
import { StatementProxy } from '../pg-statement-proxy';
import type { ProxyReply, ProxyRequest } from './proxies';

const proxies = new Map<string, StatementProxy>();

async function answer(request: ProxyRequest): Promise<ProxyReply> {
  switch (request.op) {
    case 'start': {
      const proxy = new StatementProxy(request.upstream);
      proxies.set(request.name, proxy);
      return { id: request.id, port: await proxy.listen() };
    }
    case 'reset':
      proxies.get(request.name)?.reset(request.record);
      return { id: request.id };
    case 'read':
      return { id: request.id, counts: proxies.get(request.name)?.read() };
  }
}

process.on('message', (request: ProxyRequest) => {
  answer(request).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ id: request.id, error: String(error) }),
  );
});
// The bench's end (or crash) closes the IPC channel: nothing is left listening.
process.on('disconnect', () => process.exit(0));
