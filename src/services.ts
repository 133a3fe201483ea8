import type { DataSource } from 'typeorm';
import type { Config } from './core/config/config';
import type { Logger } from './core/logger';
import { createMailer } from './core/mail/mailer';
import { PasswordHasher } from './core/crypto/password-hasher';
import { AccessTokenService } from './modules/auth/access-tokens.service';
import { AuthService } from './modules/auth/auth.service';
import { LockingService } from './modules/locking/locking.service';
import { LoginLockout } from './modules/locking/login-lockout';
import { SigningKeyStore } from './modules/auth/signing-keys.service';
import { BootstrapService } from './modules/bootstrap/bootstrap.service';
import { MembersService } from './modules/members/members.service';
import { OrgsService } from './modules/orgs/orgs.service';
import { RolesService } from './modules/roles/roles.service';
import { UsersService } from './modules/users/users.service';

/** The composition root: every long-lived service, wired once per process. */
export async function createServices(config: Config, db: DataSource, secretKey: string, logger: Logger) {
  const signingKeys = new SigningKeyStore(db, secretKey);
  await signingKeys.initialize();
  const hasher = new PasswordHasher(config.auth.bcryptCost);
  const accessTokens = new AccessTokenService(signingKeys, {
    issuer: config.publicUrl,
    audience: config.auth.audience,
    ttlSeconds: config.auth.accessTokenTtl,
  });
  const orgs = new OrgsService();
  const auth = new AuthService(db, hasher, accessTokens, config.auth.refreshTokenTtl, new LoginLockout(config.lockout));
  return {
    config,
    logger,
    mailer: createMailer(config, logger),
    signingKeys,
    hasher,
    accessTokens,
    auth,
    locking: new LockingService(auth),
    orgs,
    roles: new RolesService(),
    members: new MembersService(),
    users: new UsersService(),
    bootstrap: new BootstrapService(db, hasher, orgs),
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
