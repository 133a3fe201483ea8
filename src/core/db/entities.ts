import { ApiKeyEntity } from '../../modules/api-keys/api-key.entity';
import { AccessGrantEntity } from '../../modules/resources/access-grant.entity';
import { ResourceEntity } from '../../modules/resources/resource.entity';
import { AuditLogEntity } from '../audit/audit-log.entity';
import { RefreshTokenEntity } from '../../modules/auth/refresh-token.entity';
import { SessionEntity } from '../../modules/auth/session.entity';
import { SigningKeyEntity } from '../../modules/auth/signing-key.entity';
import { GroupEntity } from '../../modules/groups/group.entity';
import { InvitationEntity } from '../../modules/invitations/invitation.entity';
import { MembershipEntity } from '../../modules/members/membership.entity';
import { OrgEntity } from '../../modules/orgs/org.entity';
import { PasswordResetTokenEntity } from '../../modules/passwords/password-reset-token.entity';
import { EmailVerificationTokenEntity } from '../../modules/email-verification/email-verification-token.entity';
import { RoleEntity } from '../../modules/roles/role.entity';
import { TeamEntity } from '../../modules/teams/team.entity';
import { OAuthClientEntity } from '../../modules/oauth-clients/oauth-client.entity';
import { UserEntity } from '../../modules/users/user.entity';

export const entities = [
  AccessGrantEntity,
  ResourceEntity,
  ApiKeyEntity,
  AuditLogEntity,
  EmailVerificationTokenEntity,
  GroupEntity,
  InvitationEntity,
  MembershipEntity,
  OrgEntity,
  PasswordResetTokenEntity,
  RefreshTokenEntity,
  RoleEntity,
  SessionEntity,
  SigningKeyEntity,
  TeamEntity,
  OAuthClientEntity,
  UserEntity,
];
