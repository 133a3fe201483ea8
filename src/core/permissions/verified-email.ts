import { PrincipalKind } from '../../modules/users/user.entity';

type Account = { kind: PrincipalKind; superUser: boolean; emailVerifiedAt: Date | null };

/**
 * Whether an org requiring verified addresses would shut this account out: a person or customer
 * whose address nobody has proven they control. Super users and service accounts (no mailbox) never
 * are. Checked first, so verified accounts cost no read of the org.
 */
export function mayBeShutOut(account: Account): boolean {
  return account.kind !== PrincipalKind.SERVICE_ACCOUNT && !account.superUser && account.emailVerifiedAt === null;
}

/** Whether the org's requireVerifiedEmail shuts this account out of it; other orgs never are. */
export function emailUnverifiedIn(account: Account, org: { requireVerifiedEmail: boolean } | null): boolean {
  return org?.requireVerifiedEmail === true && mayBeShutOut(account);
}
