import bcrypt from 'bcrypt';
import { PasswordHasher } from '../../src/core/crypto/password-hasher';
import { AppError } from '../../src/core/errors/app-error';

/**
 * The hasher runs at most `concurrency` bcrypt operations at once, whoever asks (sign-in with a
 * known, unknown or imported account, hashing), and refuses rather than queueing without end.
 */
describe('PasswordHasher bounds its bcrypt work', () => {
  let inFlight = 0;
  let mostInFlight = 0;
  /** Extra time each bcrypt operation takes, so that calls overlap for certain. */
  let delayMs = 0;

  function counted<Args extends unknown[], T>(original: (...args: Args) => Promise<T>) {
    return async (...args: Args): Promise<T> => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return await original(...args);
      } finally {
        inFlight -= 1;
      }
    };
  }

  const originalCompare = bcrypt.compare.bind(bcrypt) as (data: string, encrypted: string) => Promise<boolean>;
  const originalHash = bcrypt.hash.bind(bcrypt) as (data: string, rounds: number) => Promise<string>;

  beforeEach(() => {
    inFlight = 0;
    mostInFlight = 0;
    delayMs = 0;
    jest.spyOn(bcrypt, 'compare').mockImplementation(counted(originalCompare) as never);
    jest.spyOn(bcrypt, 'hash').mockImplementation(counted(originalHash) as never);
  });

  afterEach(() => jest.restoreAllMocks());

  async function refusal(promise: Promise<unknown>): Promise<AppError> {
    const outcome = await promise.then(
      () => null,
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(AppError);
    return outcome as AppError;
  }

  it.each([1, 2, 3])('never runs more than %i operations at once, and does run that many', async (concurrency) => {
    delayMs = 20;
    const hasher = new PasswordHasher(5, { concurrency });
    const stored = await hasher.hash('the right password');
    const weak = await hasher.hash('the right password', 4);
    mostInFlight = 0;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, index) => {
        switch (index % 4) {
          case 0:
            return hasher.verify('the right password', stored);
          case 1:
            return hasher.verify('a wrong password', null); // unknown account: the decoy comparison
          case 2:
            return hasher.verify('a wrong password', weak); // imported: its own cost, then the decoy
          default:
            return hasher.hash('another password');
        }
      }),
    );
    expect(mostInFlight).toBe(concurrency);
    expect(results[0]).toMatchObject({ matches: true });
    expect(results[1]).toMatchObject({ matches: false });
    expect(results[2]).toMatchObject({ matches: false });
  });

  it('refuses at once with SERVICE_UNAVAILABLE once the queue is full', async () => {
    delayMs = 200;
    const hasher = new PasswordHasher(4, { concurrency: 1, maxWaiting: 2 });
    const stored = await hasher.hash('the right password');
    const admitted = [1, 2, 3].map(() => hasher.verify('the right password', stored));
    const started = Date.now();
    const error = await refusal(hasher.verify('the right password', stored));
    // Refused without waiting for any of the three before it (each takes over 200 ms).
    expect(Date.now() - started).toBeLessThan(150);
    expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 1 });
    for (const verification of await Promise.all(admitted)) expect(verification.matches).toBe(true);
  });

  it('refuses a call that waited longer than maxWaitMs, and forgets it', async () => {
    const hasher = new PasswordHasher(4, { concurrency: 1, maxWaitMs: 500, maxWaiting: 1 });
    const stored = await hasher.hash('the right password');
    delayMs = 800;
    const first = hasher.verify('the right password', stored);
    const started = Date.now();
    const error = await refusal(hasher.verify('the right password', stored));
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
    expect(error.extensions.code).toBe('SERVICE_UNAVAILABLE');
    // The refused call left the queue: another may wait in its place (maxWaiting is 1) and runs
    // once the first is done, about 300 ms later.
    delayMs = 0;
    const third = hasher.verify('the right password', stored);
    await expect(first).resolves.toMatchObject({ matches: true });
    await expect(third).resolves.toMatchObject({ matches: true });
    expect(mostInFlight).toBe(1);
  });

  it('keeps going after a failed operation', async () => {
    const hasher = new PasswordHasher(4, { concurrency: 1 });
    jest.spyOn(bcrypt, 'compare').mockRejectedValueOnce(new Error('pool failure') as never);
    const stored = await hasher.hash('the right password');
    await expect(hasher.verify('the right password', stored)).rejects.toThrow('pool failure');
    await expect(hasher.verify('the right password', stored)).resolves.toMatchObject({ matches: true });
  });
});
