import type { EntityManager } from 'typeorm';
import { hashToken } from '../../core/crypto/opaque-token';
import { queryRows } from '../../core/db/sql';
import { UserStatus } from '../users/user.entity';
import { InvitationKind } from './invitation.entity';

/** Whether the invitation can still be accepted, or why not. */
export type InvitationState = 'usable' | 'expired' | 'used' | 'revoked';

/** What a page shows about an invitation before anyone accepts it. */
export type InvitationPreview = {
  state: InvitationState;
  kind: InvitationKind;
  orgId: string;
  orgName: string;
  /**
   * The inviter's name; null when they gave none or nobody is on record. Never their email: anyone
   * holding a shareable link would read an admin's address.
   */
  inviterName: string | null;
  roleName: string;
  /** The invited address (EMAIL invitations only). */
  email: string | null;
  expiresAt: Date;
  /** Whether an account holds the invited address, so its owner signs in to join. */
  accountExists: boolean;
  /**
   * Whether that account may sign in now (active, not locked), as login checks: when it may not,
   * a password form would only answer "Invalid email or password" to the right password.
   */
  accountCanSignIn: boolean;
};

type PreviewRow = {
  status: string;
  kind: InvitationKind;
  expires_at: Date;
  org_id: string;
  max_uses: number | null;
  use_count: number;
  email: string | null;
  org_name: string;
  role_name: string;
  inviter_first_name: string | null;
  inviter_last_name: string | null;
  account_exists: boolean;
  account_can_sign_in: boolean;
};

/**
 * Reads an invitation by its token, changing nothing: the token stays unspent and no limit is
 * charged, so opening the link (or a mail scanner fetching it) costs its holder nothing. Null for a
 * token no invitation has. Acceptance checks everything again under lock.
 */
export async function previewInvitation(manager: EntityManager, token: string): Promise<InvitationPreview | null> {
  const [row] = await queryRows<PreviewRow>(
    manager,
    `SELECT i.status, i.kind, i.expires_at, i.org_id, i.max_uses, i.use_count, i.email,
            o.name AS org_name, r.name AS role_name,
            inviter.first_name AS inviter_first_name, inviter.last_name AS inviter_last_name,
            invited.id IS NOT NULL AS account_exists,
            (invited.status = $2 AND invited.locked_at IS NULL) IS TRUE AS account_can_sign_in
       FROM invitations i
       JOIN orgs o ON o.id = i.org_id
       JOIN roles r ON r.id = i.role_id
       LEFT JOIN users inviter ON inviter.id = i.invited_by_id
       LEFT JOIN users invited ON i.email IS NOT NULL AND lower(invited.email) = lower(i.email)
      WHERE i.token_hash = $1`,
    [hashToken(token), UserStatus.ACTIVE],
  );
  if (!row) return null;
  const inviterName = [row.inviter_first_name, row.inviter_last_name].filter(Boolean).join(' ') || null;
  return {
    state: stateOf(row),
    kind: row.kind,
    orgId: row.org_id,
    orgName: row.org_name,
    inviterName,
    roleName: row.role_name,
    email: row.kind === InvitationKind.EMAIL ? row.email : null,
    expiresAt: row.expires_at,
    accountExists: row.account_exists,
    accountCanSignIn: row.account_can_sign_in,
  };
}

/** The same rules as acceptance (invitations.service.ts `isUsable`), told apart for the page. */
function stateOf(row: PreviewRow): InvitationState {
  if (row.status === 'REVOKED') return 'revoked';
  if (row.status === 'ACCEPTED') return 'used';
  if (row.max_uses !== null && row.use_count >= row.max_uses) return 'used';
  if (row.expires_at.getTime() <= Date.now()) return 'expired';
  return 'usable';
}
