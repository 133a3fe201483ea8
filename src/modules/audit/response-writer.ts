import type { ServerResponse } from 'node:http';

/**
 * Writes a chunk and, when the socket's buffer is full, waits until it drains, so a slow reader
 * slows the producer instead of growing memory. False when the client has gone (closed or reset):
 * the caller should stop producing.
 */
export async function writeWithBackpressure(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (chunk.length === 0 || res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const settle = () => {
      res.off('drain', settle);
      res.off('close', settle);
      resolve();
    };
    res.on('drain', settle);
    res.on('close', settle);
  });
  return !res.destroyed;
}
