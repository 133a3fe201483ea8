import type { DataSource, EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import type { Principal } from '../../core/context/context';
import { FreshCache } from '../../core/cache/fresh-cache';
import { Freshness } from '../../core/cache/freshness';
import { jwtExpiry, tokenKey } from '../../core/cache/token-key';
import { generateOpaqueToken, hashToken } from '../../core/crypto/opaque-token';
import type { PasswordHasher } from '../../core/crypto/password-hasher';
import { entityRowShape } from '../../core/db/entity-rows';
import { queryRows } from '../../core/db/sql';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { emailUnverifiedIn, mayBeShutOut } from '../../core/permissions/verified-email';
import { emailLimitKey } from '../../core/rate-limit/email';
import { countedAuthEvent, type GatewayMetrics } from '../../core/observability/gateway-metrics';
import type { Charge, RateLimiter } from '../../core/rate-limit/rate-limiter';
import { MembershipEntity, MembershipStatus } from '../members/membership.entity';
import { PrincipalKind, UserEntity, UserStatus } from '../users/user.entity';
import type { AccessTokenClaims, AccessTokenService } from './access-tokens.service';
import { RefreshTokenEntity } from './refresh-token.entity';
import { SessionEntity } from './session.entity';

export type SignedIn = {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  user: UserEntity;
};

export type LoginInput = { email: string; password: string; orgId?: string | null };

type LoginRefusal =
  | 'unknown_email'
  | 'wrong_password'
  | 'no_password'
  | 'account_inactive'
  | 'account_locked'
  | 'not_a_member'
  | 'email_unverified';

/** The org a session would act in, or why the one asked for is refused. */
type LoginOrg = { orgId: string | null } | { refusal: 'not_a_member' | 'email_unverified' };

type VerifiedClaims = AccessTokenClaims & { expiresAt: number };

/** How many checked access tokens a process remembers; the least recently used go first. */
const CHECKED_TOKENS = 20_000;

/** A session `s` of account `u` that may still be refreshed. */
const USABLE_SESSION = `s.revoked_at IS NULL AND s.expires_at > now()
  AND u.status = 'ACTIVE' AND u.locked_at IS NULL AND u.kind <> 'SERVICE_ACCOUNT'`;

/** Rows when the refresh token whose hash is $1 would be accepted now. */
const USABLE_REFRESH_TOKEN = `SELECT 1 FROM refresh_tokens t
  JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
  WHERE t.token_hash = $1 AND t.used_at IS NULL AND ${USABLE_SESSION}`;

/** What a session's sign-in answer needs of it. */
type SessionRef = Pick<SessionEntity, 'id' | 'orgId'>;

type RefreshOutcome =
  | { ok: true; session: SessionRef; refreshToken: string; user: UserEntity }
  | { ok: false; reuseDetected: boolean; superseded?: boolean };

/** The refresh statement's row, the user's columns prefixed `user_`; all null if the session was not renewed. */
type RotatedRow = Record<string, unknown> & {
  session_id: string | null;
  org_id: string | null;
  require_verified_email: boolean | null;
};

/** Sign-in, refresh-token rotation, sign-out and the per-request check of access tokens. */
export class AuthService {
  constructor(
    private readonly db: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly accessTokens: AccessTokenService,
    private readonly refreshTtlSeconds: number,
    private readonly limits: RateLimiter,
    private readonly metrics: GatewayMetrics,
    freshness = new Freshness(),
  ) {
    this.checked = new FreshCache(freshness, CHECKED_TOKENS);
    this.verifiedTokens = new FreshCache(freshness, CHECKED_TOKENS);
  }

  /** Access tokens that passed `authenticate`, by their SHA-256. */
  private readonly checked: FreshCache<Principal>;
  /**
   * Tokens whose signature verified, by their SHA-256. Also emptied by invalidations: a retired
   * signing key must stop verifying.
   */
  private readonly verifiedTokens: FreshCache<VerifiedClaims>;

  /**
   * Every refusal answers the same error after the same bcrypt work, whether the email is unknown,
   * the password wrong or the account disabled; the audit log records the real reason.
   *
   * Before any of that work, failures are throttled per source address and per (email, address):
   * a guesser is refused RATE_LIMITED from its own address while the owner still signs in from
   * theirs. Many failures on one email from everywhere only slow each attempt down. Counting the
   * normalised email, not the account, answers alike whether an account exists.
   */
  login(input: LoginInput, actor: AuditActor): Promise<SignedIn> {
    return countedAuthEvent(this.metrics, 'login', () => this.checkPassword(input, actor));
  }

  private async checkPassword(input: LoginInput, actor: AuditActor): Promise<SignedIn> {
    const email = input.email.trim();
    const failures = await this.loginFailureCounters(email, actor.ipAddress);
    await this.limits.consume(failures.perAddress, failures.perAccountAndAddress);
    await this.limits.slowDown(...failures.perAccount);
    const user = await this.db
      .getRepository(UserEntity)
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('lower(user.email) = lower(:email)', { email })
      .getOne();
    const { matches: passwordMatches, upgradedHash } = await this.hasher.verify(input.password, user?.passwordHash);
    // Only an account about to be let in reads its org, so a refused one does no extra work that
    // would time apart a right password from a wrong one.
    const admissible = user && passwordMatches && user.status === UserStatus.ACTIVE && !user.lockedAt;
    const loginOrg = admissible ? await this.loginOrg(user, input.orgId) : undefined;
    const refusal = this.refusalFor(user, passwordMatches, loginOrg);

    if (refusal || !user || !loginOrg || !('orgId' in loginOrg)) {
      await this.db.transaction(async (tx) => {
        await recordAudit(
          tx,
          { ...actor, actorId: user?.id ?? null, actorKind: user?.kind ?? 'ANONYMOUS' },
          {
            action: 'session.login_failed',
            subjectUserId: user?.id ?? null,
            targetType: 'User',
            targetId: user?.id ?? null,
            changes: { email, reason: refusal },
          },
        );
      });
      if (refusal === 'email_unverified') {
        // The password was right, so the attempt is not a guess; saying why cannot help a guesser.
        await this.limits.refund(failures.perAddress, failures.perAccount);
        await this.limits.reset(...failures.perAccountAndAddress);
        throw new AppError('auth.email_unverified');
      }
      // The attempt stays counted as a failure.
      throw new AppError('auth.invalid_credentials');
    }
    const { orgId } = loginOrg;

    const { session, refreshToken } = await this.db.transaction(async (tx) => {
      const started = await this.startSession(tx, user.id, orgId, actor);
      await tx.update(
        UserEntity,
        { id: user.id },
        { lastLoginAt: () => 'now()', ...(upgradedHash ? { passwordHash: upgradedHash } : {}) },
      );
      await recordAudit(
        tx,
        { ...actor, actorId: user.id, actorKind: user.kind },
        {
          action: 'session.login',
          subjectUserId: user.id,
          targetType: 'Session',
          targetId: started.session.id,
          changes: { sessionOrgId: orgId },
        },
      );
      return started;
    });
    await this.limits.refund(failures.perAddress, failures.perAccount);
    await this.limits.reset(...failures.perAccountAndAddress);
    return this.signedIn(user, session, refreshToken);
  }

  /** The counters one sign-in attempt is charged to, and given back on success. */
  private async loginFailureCounters(email: string, address: string | null) {
    const account = await emailLimitKey(this.db, email);
    return {
      perAddress: ['loginPerIp', address] as Charge,
      perAccountAndAddress: ['loginPerAccountAndIp', account, address] as Charge,
      perAccount: ['loginSlowdownPerAccount', account] as const,
    };
  }

  /**
   * Forgets an account's sign-in failures from every address, inside the caller's transaction:
   * after a password reset or an administrator's unlock, the owner starts afresh everywhere.
   */
  async forgetLoginFailures(tx: EntityManager, email: string | null): Promise<void> {
    if (!email) return;
    const account = await emailLimitKey(tx, email);
    await this.limits.resetAll(tx, 'loginPerAccountAndIp', account);
    await this.limits.resetAll(tx, 'loginSlowdownPerAccount', account);
  }

  private refusalFor(
    user: UserEntity | null,
    passwordMatches: boolean,
    loginOrg: LoginOrg | undefined,
  ): LoginRefusal | null {
    if (!user) return 'unknown_email';
    if (!user.passwordHash) return 'no_password';
    if (!passwordMatches) return 'wrong_password';
    if (user.status !== UserStatus.ACTIVE) return 'account_inactive';
    if (user.lockedAt) return 'account_locked';
    if (!loginOrg) return 'not_a_member';
    return 'refusal' in loginOrg ? loginOrg.refusal : null;
  }

  /**
   * The org a session acts in: the one asked for (which must be an active membership, or any org
   * for a super user), else the default org, else the oldest active membership; null for none.
   * An org that shuts the account out until it verifies its email address is refused when asked
   * for and passed over otherwise, so its owner can still sign in and verify.
   */
  private async loginOrg(user: UserEntity, requested: string | null | undefined): Promise<LoginOrg> {
    const memberships = await this.db.getRepository(MembershipEntity).find({
      where: { userId: user.id, status: MembershipStatus.ACTIVE },
      order: { createdAt: 'ASC' },
    });
    const shutOut = await this.orgsShuttingOut(
      this.db.manager,
      user,
      memberships.map((membership) => membership.orgId),
    );
    if (requested) {
      if (!isId(requested)) return { refusal: 'not_a_member' };
      if (memberships.some((membership) => membership.orgId === requested)) {
        return shutOut.has(requested) ? { refusal: 'email_unverified' } : { orgId: requested };
      }
      if (user.superUser) {
        const exists = await this.db.query('SELECT 1 FROM orgs WHERE id = $1', [requested]);
        if (exists.length > 0) return { orgId: requested };
      }
      return { refusal: 'not_a_member' };
    }
    const open = memberships.filter((membership) => !shutOut.has(membership.orgId));
    const preferred = open.find((membership) => membership.orgId === user.defaultOrgId) ?? open[0];
    return { orgId: preferred?.orgId ?? null };
  }

  /**
   * The org a session opened right after joining it acts in: that org, or none while the org shuts
   * the account out until it verifies its address (as sign-in passes such an org over).
   */
  async openOrgFor(tx: EntityManager, user: UserEntity, orgId: string): Promise<string | null> {
    return (await this.orgsShuttingOut(tx, user, [orgId])).has(orgId) ? null : orgId;
  }

  /** The orgs among `orgIds` that shut this account out until it verifies its email address. */
  private async orgsShuttingOut(manager: EntityManager, user: UserEntity, orgIds: string[]): Promise<Set<string>> {
    if (orgIds.length === 0 || !mayBeShutOut(user)) return new Set();
    const rows = await queryRows<{ id: string }>(
      manager,
      'SELECT id FROM orgs WHERE id = ANY($1::uuid[]) AND require_verified_email',
      [orgIds],
    );
    return new Set(rows.map((row) => row.id));
  }

  /**
   * Opens a session (and its first refresh token) inside the caller's transaction. Service accounts
   * never hold one, whichever path asks (a trigger on `sessions` says the same in the database).
   */
  async startSession(tx: EntityManager, userId: string, orgId: string | null, actor: AuditActor) {
    if (await tx.existsBy(UserEntity, { id: userId, kind: PrincipalKind.SERVICE_ACCOUNT })) {
      throw new AppError('session.service_account');
    }
    const session = await tx.save(
      tx.create(SessionEntity, {
        userId,
        orgId,
        ipAddress: actor.ipAddress,
        userAgent: actor.userAgent?.slice(0, 512) ?? null,
        lastRefreshedAt: new Date(),
        expiresAt: new Date(Date.now() + this.refreshTtlSeconds * 1000),
      }),
    );
    const refreshToken = await this.issueRefreshToken(tx, session.id);
    return { session, refreshToken };
  }

  private async issueRefreshToken(tx: EntityManager, sessionId: string): Promise<string> {
    const refreshToken = generateOpaqueToken();
    await tx.insert(RefreshTokenEntity, { tokenHash: hashToken(refreshToken), sessionId });
    return refreshToken;
  }

  /** Issues the access token of a session started by `startSession`, after its transaction commits. */
  async signedIn(user: UserEntity, session: SessionRef, refreshToken: string): Promise<SignedIn> {
    const access = await this.accessTokens.issue({ userId: user.id, sessionId: session.id, orgId: session.orgId });
    return { accessToken: access.token, refreshToken, expiresAt: access.expiresAt, user };
  }

  /**
   * Spends the refresh token and issues its successor. The conditional UPDATE lets exactly one
   * caller spend a token; any later presentation of a spent token — a replay, or the loser of a
   * concurrent race — is treated as theft and revokes the whole session (OAuth 2.0 Security BCP).
   *
   * Spending, renewing the session (whose row lock orders this against a concurrent revocation)
   * and storing the successor are one statement, the audit record a second: a refresh is the most
   * frequent write there is.
   */
  refresh(
    refreshToken: string,
    actor: AuditActor,
    options: { concurrentGraceSeconds?: number } = {},
  ): Promise<SignedIn> {
    return countedAuthEvent(this.metrics, 'refresh', () => this.rotate(refreshToken, actor, options));
  }

  private async rotate(refreshToken: string, actor: AuditActor, { concurrentGraceSeconds = 0 }): Promise<SignedIn> {
    const tokenHash = hashToken(refreshToken);
    // Only refreshes bound to fail count, per address and per token: a token that would be
    // accepted is not counted (so many sessions behind one network refresh freely, and a refresh
    // writes no counter). Two uses of one token racing both go uncounted; reuse detection ends
    // that session anyway.
    await this.limits.consumeUnless(
      { condition: `EXISTS (${USABLE_REFRESH_TOKEN})`, params: [tokenHash] },
      ['refreshPerIp', actor.ipAddress],
      ['refreshPerToken', refreshToken],
    );
    const successor = generateOpaqueToken();
    const outcome = await this.db.transaction(async (tx): Promise<RefreshOutcome> => {
      const userShape = entityRowShape(this.db, UserEntity);
      const [rotated] = await queryRows<RotatedRow>(
        tx,
        `WITH spent AS (
           UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL RETURNING session_id
         ), renewed AS (
           UPDATE sessions s SET last_refreshed_at = now(), expires_at = now() + make_interval(secs => $3)
             FROM spent, users u
            WHERE s.id = spent.session_id AND u.id = s.user_id AND ${USABLE_SESSION}
           RETURNING s.id, s.org_id, s.user_id
         ), successor AS (
           INSERT INTO refresh_tokens (token_hash, session_id) SELECT $2, id FROM renewed
         )
         SELECT renewed.id AS session_id, renewed.org_id, o.require_verified_email, ${userShape.select('u', 'user_')}
           FROM spent
           LEFT JOIN renewed ON true
           LEFT JOIN users u ON u.id = renewed.user_id
           LEFT JOIN orgs o ON o.id = renewed.org_id`,
        [tokenHash, hashToken(successor), this.refreshTtlSeconds],
      );
      if (!rotated) return this.handleUnusableToken(tx, tokenHash, actor, concurrentGraceSeconds);
      // Spent, but the session or the account may no longer be used.
      if (!rotated.session_id) return { ok: false, reuseDetected: false };
      const user = userShape.read(rotated, 'user_');
      // Thrown, so the transaction rolls back and the token stays usable once the address is verified.
      if (emailUnverifiedIn(user, { requireVerifiedEmail: rotated.require_verified_email === true }))
        throw new AppError('auth.email_unverified');
      const session = { id: rotated.session_id, orgId: rotated.org_id };
      await recordAudit(
        tx,
        { ...actor, actorId: user.id, actorKind: user.kind },
        {
          action: 'session.refreshed',
          subjectUserId: user.id,
          targetType: 'Session',
          targetId: session.id,
          changes: { sessionOrgId: session.orgId },
        },
      );
      return { ok: true, session, refreshToken: successor, user };
    });
    if (!outcome.ok) throw new AppError(outcome.superseded ? 'auth.refresh_superseded' : 'auth.invalid_refresh_token');
    return this.signedIn(outcome.user, outcome.session, outcome.refreshToken);
  }

  /**
   * A token spent less than `concurrentGraceSeconds` ago, in a session still going, lost a race
   * with a refresh of the same browser (two tabs share one cookie): it is refused without ending
   * the session, as the winner's cookie already replaced it there. It gets no new token either, so
   * a thief replaying it within the grace gains nothing; after the grace, reuse ends the session.
   */
  private async handleUnusableToken(
    tx: EntityManager,
    tokenHash: Buffer,
    actor: AuditActor,
    concurrentGraceSeconds: number,
  ): Promise<RefreshOutcome> {
    const [known] = await queryRows<{ session_id: string; just_spent: boolean }>(
      tx,
      `SELECT session_id, used_at > now() - make_interval(secs => $2) AS just_spent
         FROM refresh_tokens WHERE token_hash = $1`,
      [tokenHash, concurrentGraceSeconds],
    );
    if (!known) return { ok: false, reuseDetected: false };
    const session = await tx.findOneBy(SessionEntity, { id: known.session_id });
    if (known.just_spent && session && !session.revokedAt) return { ok: false, reuseDetected: false, superseded: true };
    const owner = session && (await tx.findOneBy(UserEntity, { id: session.userId }));
    if (session && owner && !session.revokedAt) {
      await tx.update(
        SessionEntity,
        { id: session.id },
        { revokedAt: () => 'now()', revokeReason: 'refresh_token_reuse' },
      );
      await recordAudit(
        tx,
        { ...actor, actorId: owner.id, actorKind: owner.kind },
        {
          action: 'session.refresh_token_reused',
          subjectUserId: owner.id,
          targetType: 'Session',
          targetId: session.id,
          changes: { sessionOrgId: session.orgId },
        },
      );
    }
    return { ok: false, reuseDetected: true };
  }

  /** Ends the session the refresh token belongs to; false when there was nothing to end. */
  async logout(refreshToken: string, actor: AuditActor): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const known = await tx.findOneBy(RefreshTokenEntity, { tokenHash: hashToken(refreshToken) });
      if (!known) return false;
      return this.endSession(tx, known.sessionId, null, 'logout', actor);
    });
  }

  /** Ends one of the caller's own sessions; another user's session id answers NOT_FOUND. */
  async revokeSession(tx: EntityManager, principal: Principal, sessionId: string, actor: AuditActor): Promise<boolean> {
    if (!isId(sessionId)) throw new AppError('session.not_found');
    const ended = await this.endSession(tx, sessionId, principal.userId, 'revoked', actor);
    if (!ended) {
      const exists = await tx.existsBy(SessionEntity, { id: sessionId, userId: principal.userId });
      if (!exists) throw new AppError('session.not_found');
    }
    return ended;
  }

  private async endSession(
    tx: EntityManager,
    sessionId: string,
    ownerId: string | null,
    reason: 'logout' | 'revoked',
    actor: AuditActor,
  ): Promise<boolean> {
    const ended = await queryRows<{ user_id: string; org_id: string | null; kind: PrincipalKind }>(
      tx,
      `UPDATE sessions s SET revoked_at = now(), revoke_reason = $2
         FROM users u
        WHERE s.id = $1 AND u.id = s.user_id AND s.revoked_at IS NULL AND ($3::uuid IS NULL OR s.user_id = $3)
        RETURNING s.user_id, s.org_id, u.kind`,
      [sessionId, reason, ownerId],
    );
    if (ended.length === 0) return false;
    const [{ user_id: userId, org_id: orgId, kind }] = ended;
    await recordAudit(tx, actor.actorId ? actor : { ...actor, actorId: userId, actorKind: kind }, {
      action: reason === 'logout' ? 'session.logout' : 'session.revoked',
      subjectUserId: userId,
      targetType: 'Session',
      targetId: sessionId,
      changes: { sessionOrgId: orgId },
    });
    return true;
  }

  /**
   * Ends every active session of a user (but `exceptSessionId`), inside the caller's transaction;
   * their access tokens are refused from the next request on. Audited by the calling operation.
   */
  async endAllSessions(
    tx: EntityManager,
    userId: string,
    reason: string,
    exceptSessionId: string | null = null,
  ): Promise<number> {
    const ended = await queryRows<{ id: string }>(
      tx,
      `UPDATE sessions SET revoked_at = now(), revoke_reason = $2
        WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3)
        RETURNING id`,
      [userId, reason, exceptSessionId],
    );
    return ended.length;
  }

  /**
   * Turns a bearer access token into a principal. The session and account are read on every call
   * unless `reuse` is set: then a check of the same token that this process made since the last
   * invalidation stands (Freshness: a sign-out, revocation, deactivation or lock applies to the
   * next request on the process that committed it, within a second on every other). /auth/check
   * reuses; GraphQL requests read, so each costs the same statements whatever ran before. Either
   * way jose's signature check is done once per token (`verified`), and every check made is kept.
   */
  async authenticate(bearer: string, reuse = false): Promise<Principal | null> {
    const key = tokenKey(bearer);
    const cached = reuse ? this.checked.get(key) : undefined;
    if (cached) return cached;
    const ticket = this.checked.ticket();
    const claims = await this.verified(bearer, key);
    if (!claims || !isId(claims.userId) || !isId(claims.sessionId)) return null;
    const rows: Array<{ kind: PrincipalKind; super_user: boolean; expires_at: Date }> = await this.db.query(
      `SELECT u.kind, u.super_user, s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.user_id = $2 AND ${USABLE_SESSION}`,
      [claims.sessionId, claims.userId],
    );
    if (rows.length === 0) return null;
    const principal: Principal = Object.freeze({
      userId: claims.userId,
      kind: rows[0].kind,
      superUser: rows[0].super_user,
      orgId: claims.orgId,
      sessionId: claims.sessionId,
      apiKeyId: null,
      credential: 'session',
    });
    this.checked.set(key, principal, ticket, Math.min(claims.expiresAt, rows[0].expires_at.getTime()));
    return principal;
  }

  /** The claims of a well-signed, unexpired token; a token verified before is not verified again. */
  private async verified(bearer: string, key: string): Promise<VerifiedClaims | null> {
    const known = this.verifiedTokens.get(key);
    if (known) return known;
    const ticket = this.verifiedTokens.ticket();
    const claims = await this.accessTokens.verify(bearer);
    if (!claims) return null;
    const verified = Object.freeze({ ...claims, expiresAt: jwtExpiry(bearer) });
    this.verifiedTokens.set(key, verified, ticket, verified.expiresAt);
    return verified;
  }
}
