/**
 * bcrypt runs on libuv's thread pool, four threads by default, which sign-ins and file I/O share.
 * An import hashes at most two passwords at a time, so a long file never queues everyone else's
 * work behind its own.
 */
const CONCURRENT_HASHES = 2;

/** The hashes of `passwords`, in order. */
export async function hashAll(passwords: string[], hash: (password: string) => Promise<string>): Promise<string[]> {
  const hashes: string[] = new Array(passwords.length);
  let next = 0;
  const worker = async () => {
    while (next < passwords.length) {
      const index = next++;
      hashes[index] = await hash(passwords[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_HASHES, passwords.length) }, worker));
  return hashes;
}
