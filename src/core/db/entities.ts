import { AuditLogEntity } from '../audit/audit-log.entity';
import { RefreshTokenEntity } from '../../modules/auth/refresh-token.entity';
import { SessionEntity } from '../../modules/auth/session.entity';
import { SigningKeyEntity } from '../../modules/auth/signing-key.entity';
import { MembershipEntity } from '../../modules/members/membership.entity';
import { OrgEntity } from '../../modules/orgs/org.entity';
import { RoleEntity } from '../../modules/roles/role.entity';
import { UserEntity } from '../../modules/users/user.entity';

export const entities = [
  AuditLogEntity,
  MembershipEntity,
  OrgEntity,
  RefreshTokenEntity,
  RoleEntity,
  SessionEntity,
  SigningKeyEntity,
  UserEntity,
];
