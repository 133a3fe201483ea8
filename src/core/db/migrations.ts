import { InitialSchema1795420800000 } from '../../../migrations/1795420800000-initial-schema';
import { AuditAppendOnly1795507200000 } from '../../../migrations/1795507200000-audit-append-only';
import { AuditRetention1795593600000 } from '../../../migrations/1795593600000-audit-retention';
import { RateLimits1795680000000 } from '../../../migrations/1795680000000-rate-limits';
import { NoServiceAccountSessions1795766400000 } from '../../../migrations/1795766400000-no-service-account-sessions';
import { InvitationsPendingEmailUnique1795852800000 } from '../../../migrations/1795852800000-invitations-pending-email-unique';
import { AuditEventSubjects1795939200000 } from '../../../migrations/1795939200000-audit-event-subjects';
import { Deletion1796025600000 } from '../../../migrations/1796025600000-deletion';
import { EmailVerification1796112000000 } from '../../../migrations/1796112000000-email-verification';
import { RolePermissionsDistinct1796284800000 } from '../../../migrations/1796284800000-role-permissions-distinct';
import { AuditChainedAfterCommit1796371200000 } from '../../../migrations/1796371200000-audit-chained-after-commit';
import { AuditListingByTime1796457600000 } from '../../../migrations/1796457600000-audit-listing-by-time';
import { AccessChangeNotify1796544000000 } from '../../../migrations/1796544000000-access-change-notify';
import { SigningKeyRotation1796630400000 } from '../../../migrations/1796630400000-signing-key-rotation';
import { OAuthClients1796716800000 } from '../../../migrations/1796716800000-oauth-clients';

/** Listed as classes, not globs, so the same list serves ts-node, jest and the compiled build. */
export const migrations = [
  InitialSchema1795420800000,
  AuditAppendOnly1795507200000,
  AuditRetention1795593600000,
  RateLimits1795680000000,
  NoServiceAccountSessions1795766400000,
  InvitationsPendingEmailUnique1795852800000,
  AuditEventSubjects1795939200000,
  Deletion1796025600000,
  EmailVerification1796112000000,
  RolePermissionsDistinct1796284800000,
  AuditChainedAfterCommit1796371200000,
  AuditListingByTime1796457600000,
  AccessChangeNotify1796544000000,
  SigningKeyRotation1796630400000,
  OAuthClients1796716800000,
];
