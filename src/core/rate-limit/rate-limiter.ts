import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Pool } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { RateLimits } from '../config/config';
import { RateLimitedError } from './rate-limited-error';

/** Created by migration 1795680000000 and shared by every process on the database. */
export const RATE_LIMIT_TABLE = 'rate_limits';

const EXPIRED_SWEEP_INTERVAL_MS = 5 * 60_000;

export type LimitName = keyof RateLimits;

type SlowdownName = {
  [Name in LimitName]: RateLimits[Name] extends { delaySeconds: number } ? Name : never;
}[LimitName];

/**
 * One counter: a limit and who it counts, in one or more parts (an address, an email, a token,
 * an id). A null part is an unknown address; the unknown share one counter.
 */
export type Charge = readonly [LimitName, ...(string | null)[]];

/**
 * A client address as its limits count it: an IPv6 address by its /64, the smallest network a
 * subscriber is usually given (OWASP), so rotating through one's own addresses is no way around a
 * limit; an IPv4-mapped IPv6 address as the IPv4 address it is. Any other text is left as it is.
 */
function asCountedNetwork(part: string): string {
  if (isIP(part) === 0) return part;
  const address = ipaddr.process(part);
  if (address.kind() === 'ipv4') return address.toString();
  const prefix = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${prefix.map((group) => group.toString(16)).join(':')}::/64`;
}

/** Parts are stored only as hashes, so the table holds neither addresses, emails nor tokens. */
function keyOf(parts: readonly (string | null)[]): string {
  return parts
    .map((part) =>
      createHash('sha256')
        .update(part === null ? '' : asCountedNetwork(part))
        .digest('hex')
        .slice(0, 32),
    )
    .join(':');
}

/**
 * Abuse limits as fixed-window counters (rate-limiter-flexible) in the gateway's own database,
 * so every process behind a load balancer shares them. Each attempt is one atomic upsert, so
 * parallel requests can never count past a limit; callers charge before the work they guard and
 * never from inside a transaction.
 */
export class RateLimiter {
  private readonly counters: Record<LimitName, RateLimiterPostgres>;
  /** TypeORM's pg pool: each counter update is one atomic statement, outside any transaction. */
  private readonly store: Pool;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    db: DataSource,
    private readonly limits: RateLimits,
  ) {
    this.store = (db.driver as PostgresDriver).master as Pool;
    const entries = Object.entries(limits).map(([name, limit]) => [
      name,
      new RateLimiterPostgres({
        storeClient: this.store,
        storeType: 'pool',
        tableName: RATE_LIMIT_TABLE,
        tableCreated: true,
        clearExpiredByTimeout: false,
        keyPrefix: name,
        points: limit.points,
        duration: limit.durationSeconds,
        blockDuration: 'blockSeconds' in limit ? limit.blockSeconds : 0,
      }),
    ]);
    this.counters = Object.fromEntries(entries) as Record<LimitName, RateLimiterPostgres>;
    this.sweep = setInterval(() => void this.removeExpired().catch(() => undefined), EXPIRED_SWEEP_INTERVAL_MS);
    this.sweep.unref();
  }

  /**
   * Counts one attempt against each limit in turn; the first one already spent refuses with
   * RATE_LIMITED (and the later ones are not counted).
   */
  async consume(...charges: Charge[]): Promise<void> {
    for (const [name, ...subject] of charges) {
      const refusal = await this.count(name, subject);
      if (refusal) throw new RateLimitedError(refusal.msBeforeNext);
    }
  }

  /** Counts one attempt against a limit that slows down rather than refuses: once spent, each attempt waits. */
  async slowDown(...[name, ...subject]: readonly [SlowdownName, ...(string | null)[]]): Promise<void> {
    if (await this.count(name, subject)) {
      await new Promise((resolve) => setTimeout(resolve, this.limits[name].delaySeconds * 1000));
    }
  }

  /** Gives one attempt back, where a limit counts only failures and the attempt succeeded. */
  async refund(...charges: Charge[]): Promise<void> {
    for (const [name, ...subject] of charges) await this.counters[name].reward(keyOf(subject), 1);
  }

  /** Starts one counter afresh. */
  async reset(...[name, ...subject]: Charge): Promise<void> {
    await this.counters[name].delete(keyOf(subject));
  }

  /**
   * Starts afresh every counter of a limit whose subject begins with `leading` (one account's
   * failures from every address), inside the caller's transaction.
   */
  async resetAll(manager: EntityManager, ...[name, ...leading]: Charge): Promise<void> {
    const key = `${name}:${keyOf(leading)}`;
    await manager.query(`DELETE FROM ${RATE_LIMIT_TABLE} WHERE key = $1 OR key LIKE $2`, [key, `${key}:%`]);
  }

  /** Windows that ended stay in the table until their key is used again; this keeps it small. */
  async removeExpired(): Promise<void> {
    await this.store.query(`DELETE FROM ${RATE_LIMIT_TABLE} WHERE expire < $1`, [Date.now()]);
  }

  stop(): void {
    clearInterval(this.sweep);
  }

  private async count(name: LimitName, subject: readonly (string | null)[]): Promise<RateLimiterRes | null> {
    try {
      await this.counters[name].consume(keyOf(subject));
      return null;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return outcome;
      throw outcome;
    }
  }
}
