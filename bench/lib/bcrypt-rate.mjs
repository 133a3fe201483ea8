/* global console */
// Raw bcrypt.compare throughput: THREADS comparisons kept in flight for SECONDS at COST, on a libuv
// pool of THREADS threads (set UV_THREADPOOL_SIZE=THREADS when starting this process). Prints
// the comparisons per second.
import bcrypt from 'bcrypt';
import { performance } from 'node:perf_hooks';

const threads = Number(process.env.THREADS);
const seconds = Number(process.env.SECONDS);
const cost = Number(process.env.COST);
const secret = 'x'.repeat(44);
const hash = await bcrypt.hash(secret, cost);
let done = 0;
const started = performance.now();
const deadline = started + seconds * 1000;
await Promise.all(
  Array.from({ length: threads }, async () => {
    while (performance.now() < deadline) {
      if (!(await bcrypt.compare(secret, hash))) throw new Error('bcrypt.compare failed');
      done += 1;
    }
  }),
);
console.log(JSON.stringify({ rate: done / ((performance.now() - started) / 1000) }));
