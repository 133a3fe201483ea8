import { decodeProtectedHeader } from 'jose';
import type { DataSource, EntityManager } from 'typeorm';
import { pgPool } from '../../core/db/pg-pool';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import type { Principal } from '../../core/context/context';
import { FreshCache } from '../../core/cache/fresh-cache';
import { Freshness } from '../../core/cache/freshness';
import { jwtExpiry } from '../../core/cache/token-key';
import { constantTimeEqual, hashToken } from '../../core/crypto/opaque-token';
import { isUniqueViolation } from '../../core/db/pg-errors';
import { findLockedOrFail } from '../../core/db/rows';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import type { Logger } from '../../core/logger';
import { authOutcomeOf, type GatewayMetrics } from '../../core/observability/gateway-metrics';
import { MembershipEntity, MembershipStatus } from '../members/membership.entity';
import { RoleEntity } from '../roles/role.entity';
import { PrincipalKind, UserEntity, UserStatus } from '../users/user.entity';
import { readKeyStatus, type KeyStatusRow } from './api-key-status';
import { API_KEY_TYPE, type ApiKeyClaims, type ApiKeyTokens } from './api-key-tokens';
import { ApiKeyEntity, StoredApiKeyStatus } from './api-key.entity';

export type IssuedKey = { apiKey: ApiKeyEntity; token: string };
export type NewKey = { ownerId: string; orgId: string; name: string; scopes: string[]; expiresAt: Date | null };

type VerifiedKeyClaims = ApiKeyClaims & { expiresAt: number };

/** How many checked key tokens a process remembers; the least recently used go first. */
const CHECKED_KEYS = 20_000;

/** `lastUsedAt` is written at most this often per key, not on every request. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export function isApiKeyToken(token: string): boolean {
  try {
    return decodeProtectedHeader(token).typ === API_KEY_TYPE;
  } catch {
    return false;
  }
}

/** Until when a live key stays live if nothing changes it: its expiry, or the end of its rotation grace. */
function keyLiveUntil(row: Pick<KeyStatusRow, 'status' | 'expires_at' | 'grace_ends_at'>, tokenExpiry: number): number {
  const expiry = Math.min(row.expires_at?.getTime() ?? Infinity, tokenExpiry);
  return row.status === StoredApiKeyStatus.ROTATING && row.grace_ends_at
    ? Math.min(expiry, row.grace_ends_at.getTime())
    : expiry;
}

/** Whether a key works right now, by its stored state alone. */
export function keyIsLive(key: Pick<ApiKeyEntity, 'status' | 'expiresAt' | 'graceEndsAt'>, now = Date.now()): boolean {
  if (key.expiresAt && key.expiresAt.getTime() <= now) return false;
  if (key.status === StoredApiKeyStatus.ACTIVE) return true;
  return key.status === StoredApiKeyStatus.ROTATING && key.graceEndsAt !== null && key.graceEndsAt.getTime() > now;
}

/**
 * Service accounts and their JWT API keys. A GraphQL request made with a key re-reads the key, its
 * owner and the owner's membership (one indexed query); /auth/check may reuse this process's last
 * check of the token instead, so a revocation, rotation, lock or deactivation applies to the next
 * request on the process that committed it and within a second on every other (README, freshness).
 */
export class ApiKeysService {
  private readonly lastUsedWrites = new Map<string, number>();
  /** Key tokens that passed `authenticate`, by their SHA-256 (which is also their fingerprint). */
  private readonly checked: FreshCache<Principal>;

  constructor(
    private readonly db: DataSource,
    private readonly tokens: ApiKeyTokens,
    private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
    freshness = new Freshness(),
  ) {
    this.checked = new FreshCache(freshness, CHECKED_KEYS);
    this.verifiedTokens = new FreshCache(freshness, CHECKED_KEYS);
  }

  /** Key tokens whose signature verified, by their SHA-256; emptied too, as a signing key may retire. */
  private readonly verifiedTokens: FreshCache<VerifiedKeyClaims>;

  async createServiceAccount(
    tx: EntityManager,
    actor: AuditActor,
    input: { orgId: string; name: string; roleId: string },
  ): Promise<UserEntity> {
    const role = isId(input.roleId) ? await tx.findOneBy(RoleEntity, { id: input.roleId, orgId: input.orgId }) : null;
    if (!role) throw new AppError('role.not_found', { field: 'roleId' });
    const account = await tx.save(
      tx.create(UserEntity, {
        email: null,
        firstName: input.name.trim(),
        kind: PrincipalKind.SERVICE_ACCOUNT,
        status: UserStatus.ACTIVE,
      }),
    );
    await tx.insert(MembershipEntity, {
      userId: account.id,
      orgId: input.orgId,
      roleId: role.id,
      invitedById: actor.actorId,
    });
    await recordAudit(tx, actor, {
      action: 'service_account.created',
      orgId: input.orgId,
      subjectUserId: account.id,
      targetType: 'User',
      targetId: account.id,
      changes: { after: { name: account.firstName, role: role.key } },
    });
    return account;
  }

  /** The org a new key of `ownerId` belongs to: a service account's only org, or the one a person names. */
  async keyOrg(
    manager: EntityManager,
    ownerId: string,
    requestedOrgId: string | null | undefined,
  ): Promise<string | null> {
    const memberships = await manager.findBy(MembershipEntity, { userId: ownerId, status: MembershipStatus.ACTIVE });
    if (requestedOrgId) return memberships.some((m) => m.orgId === requestedOrgId) ? requestedOrgId : null;
    return memberships.length === 1 ? memberships[0].orgId : null;
  }

  /** Scopes must lie within the owner's role in the key's org (checked again on every use). */
  async createKey(tx: EntityManager, actor: AuditActor, input: NewKey): Promise<IssuedKey> {
    const membership = await tx.findOneBy(MembershipEntity, {
      userId: input.ownerId,
      orgId: input.orgId,
      status: MembershipStatus.ACTIVE,
    });
    const role = membership && (await tx.findOneBy(RoleEntity, { id: membership.roleId }));
    if (!role) throw new AppError('member.not_found', { field: 'ownerId' });
    const scopes = [...new Set(input.scopes)].sort();
    const outside = scopes.filter((scope) => !role.permissions.includes(scope));
    if (outside.length > 0) {
      throw new AppError('apikey.scope_outside_role', {
        message: `The owner's role does not hold: ${outside.join(', ')}`,
        field: 'scopes',
      });
    }
    const issued = await this.issue(tx, actor, { ...input, scopes }, null);
    await recordAudit(tx, actor, {
      action: 'apikey.created',
      orgId: input.orgId,
      subjectUserId: input.ownerId,
      targetType: 'ApiKey',
      targetId: issued.apiKey.id,
      changes: {
        after: {
          name: input.name,
          ownerId: input.ownerId,
          scopes,
          expiresAt: input.expiresAt,
          prefix: issued.apiKey.prefix,
        },
      },
    });
    return issued;
  }

  /**
   * Issues a successor with the same owner, org, name, scopes and expiry; the old key keeps working
   * for the grace period only. The row lock and the unique index on `rotated_from_id` make
   * concurrent rotations of one key produce exactly one successor.
   */
  async rotateKey(tx: EntityManager, actor: AuditActor, id: string, graceSeconds: number): Promise<IssuedKey> {
    const old = await findLockedOrFail(tx, ApiKeyEntity, id, 'apikey.not_found');
    if (old.status !== StoredApiKeyStatus.ACTIVE || !keyIsLive(old)) throw new AppError('apikey.not_active');
    old.status = StoredApiKeyStatus.ROTATING;
    old.graceEndsAt = new Date(Date.now() + graceSeconds * 1000);
    await tx.save(old);
    try {
      const issued = await this.issue(tx, actor, old, old.id);
      await recordAudit(tx, actor, {
        action: 'apikey.rotated',
        orgId: old.orgId,
        subjectUserId: old.ownerId,
        targetType: 'ApiKey',
        targetId: old.id,
        changes: { after: { successorId: issued.apiKey.id, graceEndsAt: old.graceEndsAt } },
      });
      return issued;
    } catch (error) {
      if (isUniqueViolation(error, 'api_keys_rotated_from_key')) throw new AppError('apikey.not_active');
      throw error;
    }
  }

  async revokeKey(tx: EntityManager, actor: AuditActor, id: string): Promise<ApiKeyEntity> {
    const key = await findLockedOrFail(tx, ApiKeyEntity, id, 'apikey.not_found');
    if (key.status === StoredApiKeyStatus.REVOKED) return key;
    const before = key.status;
    key.status = StoredApiKeyStatus.REVOKED;
    key.revokedAt = new Date();
    await tx.save(key);
    await recordAudit(tx, actor, {
      action: 'apikey.revoked',
      orgId: key.orgId,
      subjectUserId: key.ownerId,
      targetType: 'ApiKey',
      targetId: key.id,
      changes: { before: { status: before }, after: { status: key.status } },
    });
    return key;
  }

  private async issue(
    tx: EntityManager,
    actor: AuditActor,
    key: Pick<ApiKeyEntity, 'ownerId' | 'orgId' | 'name' | 'scopes' | 'expiresAt'>,
    rotatedFromId: string | null,
  ): Promise<IssuedKey> {
    const apiKey = tx.create(ApiKeyEntity, {
      id: crypto.randomUUID(),
      orgId: key.orgId,
      ownerId: key.ownerId,
      name: key.name,
      scopes: key.scopes,
      expiresAt: key.expiresAt,
      rotatedFromId,
      createdById: actor.actorId,
    });
    apiKey.prefix = `pk_${apiKey.id.slice(0, 8)}`;
    const token = await this.tokens.issue(
      { keyId: apiKey.id, ownerId: key.ownerId, orgId: key.orgId, scopes: key.scopes },
      key.expiresAt,
    );
    apiKey.fingerprint = hashToken(token);
    apiKey.signingKid = decodeProtectedHeader(token).kid ?? null;
    await tx.insert(ApiKeyEntity, apiKey);
    return { apiKey: await tx.findOneByOrFail(ApiKeyEntity, { id: apiKey.id }), token };
  }

  /**
   * The principal a key token acts as, or null when the key, its owner or membership is not usable.
   * The key is read on every call unless `reuse` is set: then a check this process made of the same
   * token stands until something invalidates it (Freshness), the key expires or its rotation grace
   * ends. Either way a token's signature is verified once, and every check made is kept. Each
   * check counts as an `auth_events` `key` event, a reused one too.
   */
  async authenticate(token: string, ipAddress: string | null, reuse = false): Promise<Principal | null> {
    try {
      const principal = await this.check(token, ipAddress, reuse);
      this.metrics.authEvent('key', principal ? 'success' : 'auth.invalid_token');
      return principal;
    } catch (error) {
      this.metrics.authEvent('key', authOutcomeOf(error));
      throw error;
    }
  }

  private async check(token: string, ipAddress: string | null, reuse: boolean): Promise<Principal | null> {
    // One SHA-256 serves as both the cache key (base64, as tokenKey) and the fingerprint compared.
    const fingerprint = hashToken(token);
    const cacheKey = fingerprint.toString('base64');
    const cached = reuse ? this.checked.get(cacheKey) : undefined;
    if (cached) {
      this.noteUse(cached.apiKeyId as string, ipAddress);
      return cached;
    }
    const ticket = this.checked.ticket();
    const claims = await this.verified(token, cacheKey);
    if (!claims || !isId(claims.keyId)) return null;
    const row = await readKeyStatus(this.db, claims.keyId);
    const usable =
      row &&
      constantTimeEqual(row.fingerprint, fingerprint) &&
      row.owner_id === claims.ownerId &&
      row.org_id === claims.orgId &&
      keyIsLive({ status: row.status, expiresAt: row.expires_at, graceEndsAt: row.grace_ends_at }) &&
      row.user_status === UserStatus.ACTIVE &&
      row.locked_at === null &&
      row.membership_status === MembershipStatus.ACTIVE;
    if (!usable) return null;
    this.noteUse(row.id, ipAddress);
    const principal: Principal = Object.freeze({
      userId: row.owner_id,
      kind: row.kind,
      // A key never carries super-user power, whoever owns it.
      superUser: false,
      orgId: row.org_id,
      sessionId: null,
      apiKeyId: row.id,
      credential: 'api_key',
      scopes: Object.freeze(row.scopes),
    });
    this.checked.set(cacheKey, principal, ticket, keyLiveUntil(row, claims.expiresAt));
    return principal;
  }

  /** The claims of a well-signed, unexpired key token; a token verified before is not verified again. */
  private async verified(token: string, cacheKey: string): Promise<VerifiedKeyClaims | null> {
    const known = this.verifiedTokens.get(cacheKey);
    if (known) return known;
    const ticket = this.verifiedTokens.ticket();
    const claims = await this.tokens.verify(token);
    if (!claims) return null;
    const verified = Object.freeze({ ...claims, expiresAt: jwtExpiry(token) });
    this.verifiedTokens.set(cacheKey, verified, ticket, verified.expiresAt);
    return verified;
  }

  /**
   * Records use at most once a minute per key per process; the conditional UPDATE bounds it across
   * processes too. Sent on TypeORM's pool directly, not through TypeORM: it changes nothing a cached
   * check reads (the api_keys trigger ignores these columns too), so it must not empty this
   * process's caches as a write through TypeORM does (core/cache/local-writes.ts), and it belongs to
   * no request.
   */
  private noteUse(keyId: string, ipAddress: string | null): void {
    const now = Date.now();
    if (now - (this.lastUsedWrites.get(keyId) ?? 0) < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWrites.set(keyId, now);
    pgPool(this.db)
      .query(
        `UPDATE api_keys SET last_used_at = now(), last_used_ip = $2
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')`,
        [keyId, ipAddress],
      )
      .catch((error: unknown) => this.logger.warn({ err: error, keyId }, 'could not record API key use'));
  }
}
