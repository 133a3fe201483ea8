import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import type { PasswordHasher } from '../../core/crypto/password-hasher';
import { assertAcceptablePassword } from '../../core/crypto/password-policy';
import type { OrgsService } from '../orgs/orgs.service';
import { slugify } from '../orgs/slug';
import { PrincipalKind, UserEntity, UserStatus } from '../users/user.entity';

export type BootstrapRequest = { email: string; password?: string; orgName?: string };
export type BootstrapResult = { email: string; orgSlug: string; generatedPassword: string | null };

const SYSTEM_ACTOR: AuditActor = {
  actorId: null,
  actorKind: 'SYSTEM',
  apiKeyId: null,
  ipAddress: null,
  userAgent: 'portcullis-bootstrap',
  requestId: null,
};

/** A number of its own (not the migration or chainer lock): two processes bootstrapping one empty database create one owner. */
const BOOTSTRAP_LOCK_ID = 7_281_930_116;

/** 24 random bytes: 192 bits, printed once; there is never a fixed default password. */
function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

export class BootstrapService {
  constructor(
    private readonly db: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly orgs: OrgsService,
  ) {}

  /** Creates the first org and its owner, a super user, when the database has no users at all. */
  async bootstrapIfEmpty(request: Partial<BootstrapRequest>): Promise<BootstrapResult | null> {
    return this.createOwner(request, true);
  }

  /** Creates another org with a super-user owner (the `npm run bootstrap` command). */
  async createSuperUser(request: BootstrapRequest): Promise<BootstrapResult> {
    const result = await this.createOwner(request, false);
    if (!result) throw new Error('bootstrap did not run');
    return result;
  }

  private async createOwner(request: Partial<BootstrapRequest>, onlyIfEmpty: boolean): Promise<BootstrapResult | null> {
    const email = request.email ?? 'owner@portcullis.local';
    const generatedPassword = request.password ? null : generatePassword();
    if (request.password) assertAcceptablePassword(request.password, 'BOOTSTRAP_PASSWORD');
    const passwordHash = await this.hasher.hash(request.password ?? generatedPassword ?? '');
    const orgName = request.orgName ?? 'Default';
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_ID]);
      if (onlyIfEmpty && (await tx.count(UserEntity)) > 0) return null;
      if (
        await tx
          .getRepository(UserEntity)
          .createQueryBuilder('u')
          .where('lower(u.email) = lower(:email)', { email })
          .getExists()
      ) {
        throw new Error(`a user with email ${email} already exists`);
      }
      const user = await tx.save(
        tx.create(UserEntity, {
          email,
          kind: PrincipalKind.HUMAN,
          status: UserStatus.ACTIVE,
          superUser: true,
          passwordHash,
          passwordChangedAt: new Date(),
        }),
      );
      const org = await this.orgs.createOrg(
        tx,
        { name: orgName, slug: await this.freeSlug(tx, slugify(orgName)) },
        user.id,
        SYSTEM_ACTOR,
      );
      await tx.update(UserEntity, { id: user.id }, { defaultOrgId: org.id });
      await recordAudit(tx, SYSTEM_ACTOR, {
        action: 'user.bootstrapped',
        orgId: org.id,
        subjectUserId: user.id,
        targetType: 'User',
        targetId: user.id,
        changes: { after: { email, superUser: true, role: 'owner' } },
      });
      return { email, orgSlug: org.slug, generatedPassword };
    });
  }

  private async freeSlug(tx: EntityManager, base: string): Promise<string> {
    const taken = new Set<string>(
      (await tx.query(`SELECT slug FROM orgs WHERE slug LIKE $1`, [`${base}%`])).map(
        (row: { slug: string }) => row.slug,
      ),
    );
    let candidate = base;
    for (let n = 2; taken.has(candidate); n++) candidate = `${base.slice(0, 58)}-${n}`;
    return candidate;
  }
}
