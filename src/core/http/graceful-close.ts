import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

export type CloseResult = {
  /** True when every connection ended on its own within the grace period; false when some were cut. */
  drained: boolean;
};

/**
 * Closing without refusing what was accepted: Node's server.close() stops accepting connections
 * and ends the idle keep-alive ones; every response sent from then on (for a request in flight, or
 * one that arrives on a connection still open) carries `Connection: close`, so each connection
 * ends after its current exchange instead of being served on. Connections still open after the
 * grace period are destroyed.
 *
 * Fastify's `return503OnClosing` is off: it answers 503 to a request arriving on a kept-alive
 * connection after close, which a client cannot tell from a failure; here it is served instead.
 */
export function trackConnectionsForClose(app: FastifyInstance) {
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  // A response already streaming when closing began cannot change its headers; once it ends its
  // connection is idle and is ended like the others.
  const endIdleConnections = () => app.server.closeIdleConnections();

  // Ahead of Fastify's own listener, so that every response is covered, a router refusal included.
  app.server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    if (closing) response.setHeader('connection', 'close');
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
  });

  return async function close(graceMs: number): Promise<CloseResult> {
    closing = true;
    for (const response of inFlight) {
      if (response.headersSent) response.once('finish', endIdleConnections);
      else response.setHeader('connection', 'close');
    }
    // Requests that reached the socket before closing began are read first (one turn of the event
    // loop), so they are in flight, not idle, when Node ends the idle connections.
    await new Promise((resolve) => setImmediate(resolve));
    let drained = true;
    const deadline = setTimeout(() => {
      drained = false;
      app.server.closeAllConnections();
    }, graceMs);
    try {
      await app.close();
    } finally {
      clearTimeout(deadline);
    }
    return { drained };
  };
}
