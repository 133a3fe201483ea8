import type { DataSource } from 'typeorm';
import type { Config } from './core/config/config';
import type { Logger } from './core/logger';
import { Freshness } from './core/cache/freshness';
import { createMailer } from './core/mail/mailer';
import { MailTemplates } from './core/mail/templates';
import { RateLimiter } from './core/rate-limit/rate-limiter';
import { PasswordHasher } from './core/crypto/password-hasher';
import { ApiKeyTokens } from './modules/api-keys/api-key-tokens';
import { ApiKeysService } from './modules/api-keys/api-keys.service';
import { AccessTokenService } from './modules/auth/access-tokens.service';
import { AuthService } from './modules/auth/auth.service';
import { EmailVerificationService } from './modules/email-verification/email-verification.service';
import { GroupsService } from './modules/groups/groups.service';
import { InvitationsService } from './modules/invitations/invitations.service';
import { LockingService } from './modules/locking/locking.service';
import { SigningKeyStore } from './modules/auth/signing-keys.service';
import { SigningKeyRotation } from './modules/auth/signing-key-rotation';
import { BootstrapService } from './modules/bootstrap/bootstrap.service';
import { AccountDeletionService } from './modules/deletion/account-deletion.service';
import { MembersService } from './modules/members/members.service';
import { OAuthClientsService } from './modules/oauth-clients/oauth-clients.service';
import { OrgsService } from './modules/orgs/orgs.service';
import { PasswordsService } from './modules/passwords/passwords.service';
import { ResourcesService } from './modules/resources/resources.service';
import { RolesService } from './modules/roles/roles.service';
import { TeamsService } from './modules/teams/teams.service';
import { UsersService } from './modules/users/users.service';
import { UserImportService } from './modules/user-import/user-import.service';
import { useCursorSecret } from './core/graphql/connection';
import { UNCOUNTED, type GatewayMetrics } from './core/observability/gateway-metrics';

/**
 * The composition root: every long-lived service, wired once per process. `freshness` invalidates
 * the credential checks services cache; the default (no listener) never lets them cache. `metrics`
 * counts sign-ins, key checks and refusals by abuse limits; admin commands count nothing.
 */
export async function createServices(
  config: Config,
  db: DataSource,
  secretKey: string,
  logger: Logger,
  freshness = new Freshness(),
  metrics: GatewayMetrics = UNCOUNTED,
) {
  // First: broken templates refuse the start before anything else is set up.
  const mailTemplates = await MailTemplates.load(config, logger);
  useCursorSecret(secretKey);
  const signingKeys = new SigningKeyStore(db, secretKey, freshness);
  await signingKeys.initialize();
  const hasher = new PasswordHasher(config.auth.bcryptCost, {
    concurrency: config.auth.bcryptConcurrency,
    maxWaitMs: config.auth.bcryptQueueTimeout * 1000,
  });
  const accessTokens = new AccessTokenService(signingKeys, {
    issuer: config.publicUrl,
    audience: config.auth.audience,
    ttlSeconds: config.auth.accessTokenTtl,
  });
  const orgs = new OrgsService();
  const mailer = createMailer(config, logger);
  const rateLimits = new RateLimiter(db, config.rateLimits, metrics);
  const auth = new AuthService(db, hasher, accessTokens, config.auth.refreshTokenTtl, rateLimits, metrics, freshness);
  const invitations = new InvitationsService(db, auth, hasher, mailer, mailTemplates, config.accountLinksBaseUrl);
  return {
    config,
    logger,
    mailer,
    signingKeys,
    signingKeyRotation: new SigningKeyRotation(
      db,
      signingKeys,
      { ...config.signingKeys, accessTokenTtl: config.auth.accessTokenTtl },
      logger,
    ),
    hasher,
    accessTokens,
    rateLimits,
    auth,
    locking: new LockingService(auth),
    apiKeys: new ApiKeysService(
      db,
      new ApiKeyTokens(signingKeys, { issuer: config.publicUrl, audience: config.auth.audience }),
      logger,
      metrics,
      freshness,
    ),
    invitations,
    orgs,
    roles: new RolesService(),
    resources: new ResourcesService(),
    teams: new TeamsService(),
    oauthClients: new OAuthClientsService(),
    members: new MembersService(),
    groups: new GroupsService(),
    users: new UsersService(),
    userImport: new UserImportService(hasher, config.importBcryptCost, invitations, rateLimits, logger),
    passwords: new PasswordsService(hasher, auth, mailer, logger, mailTemplates, config.accountLinksBaseUrl),
    emailVerification: new EmailVerificationService(
      hasher,
      mailer,
      logger,
      mailTemplates,
      config.accountLinksBaseUrl,
      config.emailVerificationTtl,
    ),
    bootstrap: new BootstrapService(db, hasher, orgs),
    accountDeletion: new AccountDeletionService(hasher, auth),
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
