import { createHmac } from 'node:crypto';
import { availableParallelism } from 'node:os';
import bcrypt from 'bcrypt';
import { AppError } from '../errors/app-error';

/**
 * bcrypt reads at most 72 bytes and stops at NUL, so two long passwords sharing a prefix would
 * collide. Every password is first reduced to HMAC-SHA-256 (44 base64 characters, no NUL) and
 * only that goes to bcrypt. Passwords are NFC-normalised so the same text typed on different
 * systems matches. bcrypt's async API runs on libuv's thread pool, off the event loop.
 */
const PREHASH_KEY = 'portcullis.password.v1';

/** Waiting sign-ins beyond this are refused at once: a storm costs a bounded amount of memory. */
const MAX_WAITING = 1000;

const DEFAULT_MAX_WAIT_MS = 10_000;

/** What a refused caller is told to wait before trying again, in seconds. */
const RETRY_AFTER_SECONDS = 1;

function prehash(password: string): string {
  return createHmac('sha256', PREHASH_KEY).update(password.normalize('NFC'), 'utf8').digest('base64');
}

export type Verification = {
  matches: boolean;
  /** A hash at the configured cost, when the password matched a weaker stored hash. */
  upgradedHash: string | null;
};

export type HasherLimits = {
  /** bcrypt operations running at once (each holds a libuv pool thread and a core); default: cores − 1, at least 1. */
  concurrency?: number;
  /** How long a call may wait for its turn before it is refused with SERVICE_UNAVAILABLE; default 10 s. */
  maxWaitMs?: number;
  /** How many calls may wait at once; more are refused at once. */
  maxWaiting?: number;
};

/**
 * One core stays free for the event loop (and whatever else shares the machine): bcrypt on every
 * core leaves requests that need no password, /healthz included, waiting behind it.
 */
export function defaultHashConcurrency(): number {
  return Math.max(1, availableParallelism() - 1);
}

type Waiter = { start: () => void; timer: NodeJS.Timeout };

/** SERVICE_UNAVAILABLE with `retryAfter`: too much password work is already waiting. */
function overloaded(): AppError {
  const error = new AppError('service.unavailable');
  error.extensions.retryAfter = RETRY_AFTER_SECONDS;
  return error;
}

export class PasswordHasher {
  /** A real hash to compare against when the account is unknown, so both paths cost the same. */
  private readonly decoyHash: Promise<string>;
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly concurrency: number;
  private readonly maxWaitMs: number;
  private readonly maxWaiting: number;

  /**
   * bcrypt on every libuv pool thread (4) of a 2-core machine starves the event loop, which then
   * answers nothing else; so at most `concurrency` operations run and the rest wait their turn in
   * order, for at most `maxWaitMs`.
   */
  constructor(
    private readonly cost: number,
    limits: HasherLimits = {},
  ) {
    this.concurrency = limits.concurrency ?? defaultHashConcurrency();
    this.maxWaitMs = limits.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.maxWaiting = limits.maxWaiting ?? MAX_WAITING;
    // Nothing waits yet, so this one runs at once and is never refused.
    this.decoyHash = this.bounded(() => bcrypt.hash(prehash('decoy password that never matches'), cost));
  }

  /** Hashes at the configured cost, or at a lower one for bulk imports (raised at next sign-in). */
  hash(password: string, cost = this.cost): Promise<string> {
    return this.bounded(() => bcrypt.hash(prehash(password), cost));
  }

  /** Whether a stored hash is weaker than the configured cost and should be replaced. */
  private needsRehash(storedHash: string): boolean {
    return bcrypt.getRounds(storedHash) < this.cost;
  }

  /**
   * Spends exactly one bcrypt operation at the configured cost on every path, so the answer's
   * timing tells neither unknown accounts nor imported ones (hashed at a lower cost) apart: a
   * missing hash is compared with the decoy; a weaker stored hash is checked at its own cost and
   * then either replaced (`upgradedHash`, for the caller to store on success) or followed by the
   * decoy comparison. Every path waits in the same queue, so waiting tells nothing either.
   */
  async verify(password: string, storedHash: string | null | undefined): Promise<Verification> {
    const prehashed = prehash(password);
    const decoy = await this.decoyHash;
    return this.bounded(async () => {
      if (!storedHash) {
        await bcrypt.compare(prehashed, decoy);
        return { matches: false, upgradedHash: null };
      }
      const matches = await bcrypt.compare(prehashed, storedHash);
      if (!this.needsRehash(storedHash)) return { matches, upgradedHash: null };
      if (matches) return { matches, upgradedHash: await bcrypt.hash(prehashed, this.cost) };
      await bcrypt.compare(prehashed, decoy);
      return { matches: false, upgradedHash: null };
    });
  }

  /** Runs `work` once fewer than `concurrency` operations run, or refuses after waiting too long. */
  private async bounded<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await this.turn();
    else this.running += 1;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake the queue.
      if (next) next.start();
      else this.running -= 1;
    }
  }

  private turn(): Promise<void> {
    if (this.waiting.length >= this.maxWaiting) return Promise.reject(overloaded());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          reject(overloaded());
        }, this.maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }
}
