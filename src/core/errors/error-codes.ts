/** The contract's `extensions.code` values (api.md, "Errors"). */
export type PublicCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

/**
 * Every error the gateway reports on purpose, by namespaced code. Each maps to one public code and
 * a default message; a new failure mode gets a new entry here, never an ad-hoc string.
 */
export const errorCatalog = {
  'auth.unauthenticated': { code: 'UNAUTHENTICATED', message: 'Authentication required' },
  'auth.invalid_credentials': { code: 'UNAUTHENTICATED', message: 'Invalid email or password' },
  'auth.invalid_token': { code: 'UNAUTHENTICATED', message: 'Invalid or expired token' },
  'auth.invalid_refresh_token': { code: 'UNAUTHENTICATED', message: 'Invalid or expired refresh token' },
  'auth.refresh_superseded': {
    code: 'CONFLICT',
    message: 'A concurrent refresh of this browser session already replaced this cookie; retry with the new one',
  },
  'auth.forbidden': { code: 'FORBIDDEN', message: 'Not allowed' },
  'auth.csrf_header_required': {
    code: 'FORBIDDEN',
    message: 'Cookie sessions need the header X-Portcullis-CSRF: 1, which only a script of an allowed origin can send',
  },
  'auth.delegated_not_allowed': {
    code: 'FORBIDDEN',
    message: 'An API key cannot do this: it needs a signed-in session of the account holder',
  },
  'session.service_account': { code: 'FORBIDDEN', message: 'Service accounts cannot sign in; they use API keys' },
  'auth.email_unverified': {
    code: 'FORBIDDEN',
    message: 'This org requires a verified email address: verify yours (requestEmailVerification) first',
  },
  'request.origin_not_allowed': {
    code: 'FORBIDDEN',
    message: 'Browsers may call the gateway only from its own origin or one listed in CORS_ORIGINS',
  },
  'request.invalid_input': { code: 'BAD_USER_INPUT', message: 'Invalid input' },
  'request.too_large': { code: 'BAD_USER_INPUT', message: 'Request body is too large' },
  'request.too_complex': { code: 'BAD_USER_INPUT', message: 'Query is too complex' },
  'request.invalid_cursor': { code: 'BAD_USER_INPUT', message: 'Invalid cursor' },
  'request.invalid_value': { code: 'BAD_USER_INPUT', message: 'Invalid input: a value is malformed or out of range' },
  'request.target_gone': {
    code: 'NOT_FOUND',
    message: 'Something this request refers to was deleted while it ran; nothing was changed',
  },
  'request.unsafe_text': {
    code: 'BAD_USER_INPUT',
    message: 'Invalid input: text must not contain NUL characters or unpaired surrogates',
  },
  'query.too_costly': { code: 'BAD_USER_INPUT', message: 'The query would cost too much to run' },
  'query.too_deep': { code: 'BAD_USER_INPUT', message: 'The query is nested too deeply' },
  'query.too_many_aliases': { code: 'BAD_USER_INPUT', message: 'The query uses too many aliases' },
  'query.too_many_directives': { code: 'BAD_USER_INPUT', message: 'The query uses too many directives' },
  'session.not_found': { code: 'NOT_FOUND', message: 'Session not found' },
  'node.not_found': { code: 'NOT_FOUND', message: 'Not found' },
  'org.not_found': { code: 'NOT_FOUND', message: 'Organization not found' },
  'org.slug_in_use': { code: 'CONFLICT', message: 'That slug is already in use' },
  'org.confirm_slug_mismatch': {
    code: 'BAD_USER_INPUT',
    message: "confirmSlug must be the org's slug exactly; nothing was deleted",
  },
  'user.not_found': { code: 'NOT_FOUND', message: 'User not found' },
  'account.super_user': { code: 'FORBIDDEN', message: 'Only a super user can act on a super user' },
  'account.outside_authority': {
    code: 'FORBIDDEN',
    message: 'Acting on this account needs the permission and a higher rank in every org it belongs to',
  },
  'user.default_org_not_member': { code: 'BAD_USER_INPUT', message: 'The default org must be one you belong to' },
  'user.last_owner': {
    code: 'CONFLICT',
    message: 'The account is the last owner of an org: make someone else owner, or delete the org, first',
  },
  'user.last_super_user': { code: 'CONFLICT', message: 'The last usable super user cannot be deleted' },
  'user.password_required': { code: 'BAD_USER_INPUT', message: 'Deleting your own account needs your password' },
  'role.not_found': { code: 'NOT_FOUND', message: 'Role not found' },
  'role.name_in_use': { code: 'CONFLICT', message: 'A role with that name already exists in this org' },
  'role.in_use': { code: 'CONFLICT', message: 'The role is still assigned; reassign its members and groups first' },
  'role.built_in': { code: 'FORBIDDEN', message: 'Built-in roles cannot be changed or deleted' },
  'role.unknown_permission': { code: 'BAD_USER_INPUT', message: 'Unknown permission' },
  'role.escalation': { code: 'FORBIDDEN', message: 'You cannot grant a permission you do not hold' },
  'team.not_found': { code: 'NOT_FOUND', message: 'Team not found' },
  'team.name_in_use': { code: 'CONFLICT', message: 'A team with that name already exists in this org' },
  'team.user_not_member': { code: 'BAD_USER_INPUT', message: "Every user must be a member of the team's org" },
  'group.not_found': { code: 'NOT_FOUND', message: 'Group not found' },
  'group.name_in_use': { code: 'CONFLICT', message: 'A group with that name already exists in this org' },
  'group.member_not_in_org': { code: 'BAD_USER_INPUT', message: "Every principal must be a member of the group's org" },
  'group.holds_grants': {
    code: 'FORBIDDEN',
    message: 'The group holds access grants: changing who is in it needs access:grant',
  },
  'member.not_found': { code: 'NOT_FOUND', message: 'Member not found' },
  'member.self_change': { code: 'FORBIDDEN', message: 'You cannot change your own role or membership' },
  'member.outranked': { code: 'FORBIDDEN', message: 'You can only act on members of lower rank' },
  'member.last_owner': { code: 'CONFLICT', message: 'An org must keep at least one owner' },
  'member.self_lifecycle': { code: 'FORBIDDEN', message: 'You cannot lock, deactivate or remove yourself' },
  'invitation.not_found': { code: 'NOT_FOUND', message: 'Invitation not found' },
  'invitation.invalid_token': { code: 'NOT_FOUND', message: 'This invitation is invalid, expired or already used' },
  'invitation.already_member': { code: 'CONFLICT', message: 'That person is already a member of this org' },
  'invitation.not_pending': { code: 'CONFLICT', message: 'Only a pending invitation can be changed' },
  'invitation.pending_exists': {
    code: 'CONFLICT',
    message: 'Another invitation to this address was sent at the same moment; try again',
  },
  'invitation.email_mismatch': { code: 'FORBIDDEN', message: 'This invitation was sent to another email address' },
  'invitation.details_required': {
    code: 'BAD_USER_INPUT',
    message: 'A new account needs an email, a password and a name',
  },
  'user.email_in_use': { code: 'CONFLICT', message: 'That email address is already registered' },
  'user.locked': { code: 'FORBIDDEN', message: 'The account is locked' },
  'user.email_unchanged': { code: 'BAD_USER_INPUT', message: 'That is already your email address' },
  'email.verification_invalid': {
    code: 'BAD_USER_INPUT',
    message: 'This verification link is invalid, expired or already used',
  },
  'password.too_short': { code: 'BAD_USER_INPUT', message: 'Passwords must be at least 12 characters long' },
  'password.too_long': { code: 'BAD_USER_INPUT', message: 'Passwords must be at most 128 characters long' },
  'password.too_common': { code: 'BAD_USER_INPUT', message: 'This password is too common; choose another' },
  'password.incorrect': { code: 'BAD_USER_INPUT', message: 'The current password is incorrect' },
  'password.invalid_reset_token': {
    code: 'BAD_USER_INPUT',
    message: 'This reset link is invalid, expired or already used',
  },
  'password.set_own': { code: 'FORBIDDEN', message: 'Use changePassword to change your own password' },
  'password.service_account': {
    code: 'BAD_USER_INPUT',
    message: 'Service accounts have no password; they use API keys',
  },
  'import.invalid_csv': { code: 'BAD_USER_INPUT', message: 'The CSV could not be read' },
  'import.too_large': { code: 'BAD_USER_INPUT', message: 'The CSV has too many lines' },
  'import.invalid_email': { code: 'BAD_USER_INPUT', message: 'Invalid email address' },
  'import.duplicate_email': { code: 'BAD_USER_INPUT', message: 'This email address is already on an earlier line' },
  'import.invalid_value': { code: 'BAD_USER_INPUT', message: 'Invalid value' },
  'import.unknown_role': { code: 'BAD_USER_INPUT', message: 'Unknown role' },
  'import.unknown_group': { code: 'BAD_USER_INPUT', message: 'Unknown group' },
  'import.unknown_team': { code: 'BAD_USER_INPUT', message: 'Unknown team' },
  'import.customer_id_fixed': {
    code: 'BAD_USER_INPUT',
    message: "An import cannot change an existing member's customerId",
  },
  'import.invitation_not_sent': {
    code: 'INTERNAL_SERVER_ERROR',
    message: 'The invitation email could not be sent; import this line again later',
  },
  'import.account_changed': {
    code: 'CONFLICT',
    message: 'The account was registered, or left the org, while the file was imported; import this line again',
  },
  'apikey.not_found': { code: 'NOT_FOUND', message: 'API key not found' },
  'apikey.not_active': {
    code: 'CONFLICT',
    message: 'Only an active key can be rotated (it may have been rotated already)',
  },
  'apikey.scope_outside_role': { code: 'BAD_USER_INPUT', message: "A scope is outside the owner's role" },
  'apikey.owner_not_allowed': {
    code: 'FORBIDDEN',
    message: 'Keys can be created for service accounts, or by a person for themselves',
  },
  'apikey.owner_only': { code: 'FORBIDDEN', message: "Only its owner can rotate a person's key" },
  'oauth_client.not_found': { code: 'NOT_FOUND', message: 'OAuth client not found' },
  'oauth_client.name_in_use': {
    code: 'CONFLICT',
    message: 'An OAuth client with that name already exists in this org',
  },
  'oauth_client.invalid_redirect_uri': {
    code: 'BAD_USER_INPUT',
    message:
      'Redirect URIs must be absolute https URLs, http only on a loopback host, or a private-use scheme for a PUBLIC client; no fragments or wildcards',
  },
  'oauth_client.grant_not_allowed': {
    code: 'BAD_USER_INPUT',
    message: 'CLIENT_CREDENTIALS needs a CONFIDENTIAL client, and REFRESH_TOKEN needs AUTHORIZATION_CODE',
  },
  'oauth_client.no_secret': { code: 'BAD_USER_INPUT', message: 'A PUBLIC client has no secret to rotate' },
  'resource.not_found': { code: 'NOT_FOUND', message: 'Resource not found' },
  'resource.name_in_use': { code: 'CONFLICT', message: 'A resource with that name already exists in this org' },
  'grant.not_found': { code: 'NOT_FOUND', message: 'Grant not found' },
  'grant.unknown_principal': {
    code: 'BAD_USER_INPUT',
    message: 'The principal must be a member or a group of the org',
  },
  'audit.org_required': { code: 'BAD_USER_INPUT', message: 'orgId is required (only super users read across orgs)' },
  'page.form_refused': {
    code: 'FORBIDDEN',
    message:
      'The form had expired or was sent from another site, so nothing was changed. Go back, reload the page and try again.',
  },
  'page.method_not_allowed': { code: 'BAD_USER_INPUT', message: 'This address only shows a page or accepts its form' },
  'page.field_required': { code: 'BAD_USER_INPUT', message: 'This field is required' },
  'rate.limited': { code: 'RATE_LIMITED', message: 'Too many attempts; try again later' },
  'service.unavailable': {
    code: 'SERVICE_UNAVAILABLE',
    message: 'The service is temporarily unavailable; try again in a few seconds',
  },
  'internal.unexpected': { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' },
} as const satisfies Record<string, { code: PublicCode; message: string }>;

export type ErrorKey = keyof typeof errorCatalog;
