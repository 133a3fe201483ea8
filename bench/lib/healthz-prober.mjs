/* global setTimeout */
// A worker thread that GETs a URL about every `intervalMs` on one keep-alive connection until told
// to stop, then posts every probe's latency (ms). Its own event loop: the load generator in the
// main thread cannot delay its clock.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

const { url, intervalMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const latencies = [];
let stopping = false;
parentPort.on('message', () => (stopping = true));

const probe = () =>
  new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        response.resume();
        response.on('end', () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`status ${response.statusCode}`)),
        );
      })
      .on('error', reject);
  });

while (!stopping) {
  const started = performance.now();
  await probe();
  const elapsed = performance.now() - started;
  latencies.push(elapsed);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - elapsed)));
}
agent.destroy();
parentPort.postMessage(latencies);
