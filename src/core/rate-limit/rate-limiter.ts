import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import type { Pool } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { namedStatementPool, pgPool } from '../db/pg-pool';
import type { RateLimits } from '../config/config';
import { UNCOUNTED, type GatewayMetrics } from '../observability/gateway-metrics';
import { RateLimitedError } from './rate-limited-error';

/** Created by migration 1795680000000 and shared by every process on the database. */
export const RATE_LIMIT_TABLE = 'rate_limits';

const EXPIRED_SWEEP_INTERVAL_MS = 5 * 60_000;

export type LimitName = keyof RateLimits;

type SlowdownName = {
  [Name in LimitName]: RateLimits[Name] extends { delaySeconds: number } ? Name : never;
}[LimitName];

/**
 * A condition under which an attempt is not counted: a boolean SQL expression over its own
 * parameters ($1, $2, …), evaluated in the statement that counts.
 */
export type Exemption = { condition: string; params: readonly unknown[] };

const NEVER_EXEMPT: Exemption = { condition: 'false', params: [] };

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
    private readonly metrics: GatewayMetrics = UNCOUNTED,
  ) {
    this.store = pgPool(db);
    const entries = Object.entries(limits).map(([name, limit]) => [
      name,
      new RateLimiterPostgres({
        // Its refund, reset and block statements are named: unnamed behind a transaction pooler.
        storeClient: namedStatementPool(db),
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
   * RATE_LIMITED (and the later ones are not counted). One statement, however many limits.
   */
  async consume(...charges: Charge[]): Promise<void> {
    await this.consumeUnless(NEVER_EXEMPT, ...charges);
  }

  /**
   * The same, but an attempt for which `exemption` holds when its statement runs is not counted
   * at all (and costs no write): for a limit that counts only attempts bound to fail.
   */
  async consumeUnless(exemption: Exemption, ...charges: Charge[]): Promise<void> {
    if (charges.length === 0) return;
    const counted = await this.countAll(charges, exemption);
    const refused = counted.findIndex(({ points }, index) => points > this.limits[charges[index][0]].points);
    if (refused === -1) return;
    const [name, ...subject] = charges[refused];
    const limit = this.limits[name];
    let msBeforeNext = Math.max(0, counted[refused].expire - Date.now());
    // The attempt that spends a blocking limit starts its block, as rate-limiter-flexible does.
    if ('blockSeconds' in limit && limit.blockSeconds > 0 && counted[refused].points === limit.points + 1) {
      await this.counters[name].block(keyOf(subject), limit.blockSeconds);
      msBeforeNext = limit.blockSeconds * 1000;
    }
    this.metrics.rateLimited(name);
    throw new RateLimitedError(msBeforeNext);
  }

  /**
   * rate-limiter-flexible's fixed-window upsert (same table, keys and columns, so both kinds of
   * writer share counters), chained: each limit's row is counted only when the one before it was
   * not over its limit, and the first only when the exemption does not hold. Returns each counted
   * limit's points and window end, in order, up to the first one over its limit.
   */
  private async countAll(
    charges: readonly Charge[],
    exemption: Exemption = NEVER_EXEMPT,
  ): Promise<Array<{ points: number; expire: number }>> {
    const now = Date.now();
    // The exemption's own parameters come first, so its $1… stay as written.
    const values: unknown[] = [...exemption.params];
    const at = values.push(now);
    const steps = charges.map(([name, ...subject], index) => {
      const limit = this.limits[name];
      const key = values.push(`${name}:${keyOf(subject)}`);
      const expire = values.push(now + limit.durationSeconds * 1000);
      const source =
        index === 0
          ? `SELECT $${key}, 1, $${expire}::bigint FROM exempt WHERE NOT exempt.holds`
          : `SELECT $${key}, 1, $${expire}::bigint FROM c${index - 1} WHERE c${index - 1}.points <= $${values.push(
              this.limits[charges[index - 1][0]].points,
            )}`;
      return `c${index} AS (
        INSERT INTO ${RATE_LIMIT_TABLE} AS counter (key, points, expire) ${source}
        ON CONFLICT (key) DO UPDATE SET
          points = CASE WHEN counter.expire <= $${at} THEN 1 ELSE counter.points + 1 END,
          expire = CASE WHEN counter.expire <= $${at} THEN EXCLUDED.expire ELSE counter.expire END
        RETURNING points, expire)`;
    });
    const rows = (
      await this.store.query<{ position: number; points: number; expire: string }>(
        `WITH exempt AS (SELECT (${exemption.condition}) AS holds), ${steps.join(',\n')}
         ${charges.map((_, index) => `SELECT ${index} AS position, points, expire FROM c${index}`).join(' UNION ALL ')}
         ORDER BY position`,
        values,
      )
    ).rows;
    return rows.map(({ points, expire }) => ({ points, expire: Number(expire) }));
  }

  /** Counts one attempt against a limit that slows down rather than refuses: once spent, each attempt waits. */
  async slowDown(...[name, ...subject]: readonly [SlowdownName, ...(string | null)[]]): Promise<void> {
    const [{ points }] = await this.countAll([[name, ...subject]]);
    if (points > this.limits[name].points) {
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
}
