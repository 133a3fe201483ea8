import type { EntityManager } from 'typeorm';
import { recordOrgEvents, type AuditActor, type AuditEntry } from '../../core/audit/audit';
import type { PasswordHasher } from '../../core/crypto/password-hasher';
import { isUniqueViolation } from '../../core/db/pg-errors';
import { AppError } from '../../core/errors/app-error';
import type { Logger } from '../../core/logger';
import { emailLimitKeys } from '../../core/rate-limit/email';
import { RateLimitedError } from '../../core/rate-limit/rate-limited-error';
import type { RateLimiter } from '../../core/rate-limit/rate-limiter';
import { InvitationNotSentError, type InvitationsService } from '../invitations/invitations.service';
import { lockOrg } from '../roles/role-rank';
import type { PrincipalKind } from '../users/user.entity';
import { exportMembersCsv } from './csv-export';
import { readImportCsv } from './import-csv';
import { emailCellOf, emailKeyOf, readImportLine, type ImportLine } from './import-line';
import {
  planLine,
  renamesAccount,
  type Caller,
  type CreatePlan,
  type InvitePlan,
  type LinePlan,
  type MemberState,
  type UpdatePlan,
} from './import-plan';
import { loadAccounts, OrgCatalog, registeredEmails } from './import-state';
import { changeMemberRole, insertMember, renameAccount, syncGroupsAndTeams } from './import-writes';
import { LineSavepoints } from './line-savepoint';
import { hashAll } from './password-hashes';
import { ImportLineStatus } from './user-import.type';

type ImportEvent = Omit<AuditEntry, 'orgId'>;

export type LineOutcome = { line: number; email: string | null; status: ImportLineStatus; error: string | null };

/**
 * The lines that passed their own checks, those that did not, the new accounts' password hashes by
 * line, and the lines whose invitation was counted against the limits on invitations.
 */
export type PreparedImport = {
  lines: ImportLine[];
  failures: LineOutcome[];
  passwordHashes: Map<number, string>;
  invitable: Set<number>;
};

export type ImportResult = {
  created: number;
  updated: number;
  invited: number;
  failed: Array<{ line: number; error: string }>;
  lines: LineOutcome[];
};

const STATUS_OF_ACTION = {
  create: ImportLineStatus.CREATED,
  update: ImportLineStatus.UPDATED,
  invite: ImportLineStatus.INVITED,
} as const satisfies Record<LinePlan['action'], ImportLineStatus>;

/**
 * CSV import and export of an org's members. Each line of an import succeeds or fails alone,
 * inside one transaction. The shield has checked that the caller may invite; the rules that
 * depend on a line (escalation, rank, own role, last owner) are checked here, line by line.
 *
 * Nobody becomes a member of an org without consent: a new account is created as a member, but
 * an account that already exists and is not a member is only sent an invitation, which its
 * holder may accept (docs/security.md, "Imports and consent").
 */
export class UserImportService {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly importBcryptCost: number,
    private readonly invitations: InvitationsService,
    private readonly rateLimits: RateLimiter,
    private readonly logger: Logger,
  ) {}

  /**
   * The work that needs no lock, done before the transaction: reading and checking each line,
   * hashing the passwords of the accounts to be created (bcrypt's async API runs on libuv's thread
   * pool, off the event loop), and counting each invitation to come against the limits `invite`
   * counts — per caller address and per recipient — so an import mails no more than as many
   * `invite` calls could (a line over either fails). Existing accounts keep their password: theirs
   * are not hashed.
   */
  async prepare(db: EntityManager, orgId: string, csv: string, ipAddress: string | null): Promise<PreparedImport> {
    const { rows, failures: unreadable } = readImportCsv(csv);
    const failures = unreadable.map(({ line, error }) => failedLine(line, null, error));
    const checked: ImportLine[] = [];
    const firstLineByEmail = new Map<string, number>();
    for (const row of rows) {
      const emailKey = emailKeyOf(row);
      const firstLine = emailKey ? firstLineByEmail.get(emailKey) : undefined;
      if (emailKey && firstLine === undefined) firstLineByEmail.set(emailKey, row.line);
      try {
        const line = readImportLine(row);
        if (firstLine !== undefined) {
          throw new AppError('import.duplicate_email', { message: `Duplicate email: already on line ${firstLine}` });
        }
        checked.push(line);
      } catch (error) {
        failures.push(failedLine(row.line, emailCellOf(row) ?? null, failureMessage(error)));
      }
    }
    const registered = await registeredEmails(
      db,
      orgId,
      checked.map((line) => line.email),
    );
    const invitees = checked.filter((line) => registered.get(line.email.toLowerCase())?.member === false);
    const inviteeKeys = await emailLimitKeys(
      db,
      invitees.map((line) => line.email),
    );
    const recipientKeyOf = new Map(invitees.map((line, index) => [line, inviteeKeys[index]]));
    const lines: ImportLine[] = [];
    const invitable = new Set<number>();
    for (const line of checked) {
      const recipientKey = recipientKeyOf.get(line);
      if (recipientKey !== undefined) {
        const refusal = await this.countInvitation(ipAddress, recipientKey);
        if (refusal) {
          failures.push(failedLine(line.line, line.email, refusal));
          continue;
        }
        invitable.add(line.line);
      }
      lines.push(line);
    }
    const toHash = lines.filter((line) => line.password && !registered.has(line.email.toLowerCase()));
    const hashes = await hashAll(
      toHash.map((line) => line.password!),
      (password) => this.hasher.hash(password, this.importBcryptCost),
    );
    const passwordHashes = new Map(toHash.map((line, index) => [line.line, hashes[index]]));
    return { lines, failures, passwordHashes, invitable };
  }

  /**
   * Applies the prepared lines under the org lock (so owners cannot vanish between checks). Each
   * line that changes something runs in its own savepoint and writes one audit record (an
   * invitation's is `invitation.created`).
   *
   * Invitations are mailed inside the transaction, as `invite` does. When the mail server fails
   * for one, that line fails alone (the accounts created and the invitations already mailed stand,
   * so no emailed link points to a rolled-back invitation), and the later invitations of the file
   * fail without being tried: a server that is down or hanging costs one timeout, not one per line.
   */
  async importUsers(
    tx: EntityManager,
    actor: AuditActor,
    caller: Caller,
    orgId: string,
    prepared: PreparedImport,
  ): Promise<ImportResult> {
    if (!(await lockOrg(tx, orgId))) throw new AppError('org.not_found');
    const catalog = await OrgCatalog.load(tx, orgId);
    const accounts = await loadAccounts(
      tx,
      orgId,
      prepared.lines.map((line) => line.email),
    );
    const outcomes = [...prepared.failures];
    // One event per line that changed something, recorded together once every line has run.
    const events: ImportEvent[] = [];
    const savepoints = new LineSavepoints(tx);
    let mailFailedOnLine: number | null = null;
    for (const line of prepared.lines) {
      try {
        const plan = planLine(line, accounts.get(line.email.toLowerCase()) ?? null, catalog, caller);
        if (!plan) {
          outcomes.push({ line: line.line, email: line.email, status: ImportLineStatus.UNCHANGED, error: null });
          continue;
        }
        if (plan.action === 'invite') assertMayInvite(line.line, prepared, mailFailedOnLine);
        if (plan.action === 'update' && renamesAccount(plan)) await assertMayRename(caller, plan);
        const event = await savepoints.run(() => this.applyLine(tx, actor, orgId, line, plan, prepared));
        if (event) events.push(event);
        outcomes.push({ line: line.line, email: line.email, status: STATUS_OF_ACTION[plan.action], error: null });
      } catch (error) {
        if (error instanceof InvitationNotSentError) {
          mailFailedOnLine ??= line.line;
          this.logger.warn({ err: error, orgId, line: line.line }, 'import: an invitation email could not be sent');
        }
        outcomes.push(failedLine(line.line, line.email, failureMessage(error)));
      }
    }
    await recordOrgEvents(tx, actor, orgId, events);
    return summarise(outcomes);
  }

  exportUsers(db: EntityManager, orgId: string, kind: PrincipalKind | null): Promise<string> {
    return exportMembersCsv(db, orgId, kind);
  }

  /** Applies a line; answers its audit event, except for an invitation, which `invite` records itself. */
  private async applyLine(
    tx: EntityManager,
    actor: AuditActor,
    orgId: string,
    line: ImportLine,
    plan: LinePlan,
    prepared: PreparedImport,
  ): Promise<ImportEvent | null> {
    switch (plan.action) {
      case 'create':
        return this.createMember(tx, actor, orgId, line, plan, prepared);
      case 'invite':
        await this.invite(tx, actor, orgId, line, plan);
        return null;
      case 'update':
        return this.updateMember(tx, orgId, plan);
    }
  }

  private async createMember(
    tx: EntityManager,
    actor: AuditActor,
    orgId: string,
    line: ImportLine,
    plan: CreatePlan,
    prepared: PreparedImport,
  ) {
    const passwordHash = await this.passwordHash(line, prepared);
    const userId = await insertMember(tx, orgId, line, plan, passwordHash, actor.actorId);
    return {
      action: 'user.imported',
      subjectUserId: userId,
      targetType: 'User',
      targetId: userId,
      changes: {
        before: null,
        after: { email: line.email, customerId: line.customerId ?? null, ...describe(plan.after) },
      },
    };
  }

  /** The invitation `invite` sends, which also writes the line's audit record (`invitation.created`). */
  private async invite(tx: EntityManager, actor: AuditActor, orgId: string, line: ImportLine, plan: InvitePlan) {
    await this.invitations.invite(tx, actor, {
      orgId,
      email: line.email,
      roleId: plan.offer.role.id,
      groupIds: plan.offer.groups.map((group) => group.id),
      teamIds: plan.offer.teams.map((team) => team.id),
    });
  }

  private async updateMember(tx: EntityManager, orgId: string, plan: UpdatePlan) {
    if (renamesAccount(plan)) await this.renameMember(tx, plan);
    await changeMemberRole(tx, orgId, plan);
    await syncGroupsAndTeams(tx, plan);
    return {
      action: 'user.imported',
      subjectUserId: plan.account.id,
      targetType: 'User',
      targetId: plan.account.id,
      changes: { before: describe(plan.before), after: describe(plan.after) },
    };
  }

  /**
   * Names belong to the account, which may be a member of other orgs too: renaming someone is an
   * account-level act (docs/security.md, "Authority over accounts"), kept apart from the
   * membership changes so that rule can govern it on its own.
   */
  private async renameMember(tx: EntityManager, plan: UpdatePlan) {
    await renameAccount(tx, plan.account.id, plan.after);
  }

  /**
   * Null when one more invitation may be mailed from the caller's address to this recipient;
   * otherwise why not. Counted in the order `invite` counts them.
   */
  private async countInvitation(ipAddress: string | null, recipientKey: string): Promise<string | null> {
    const limits = [
      { charge: ['invitePerIp', ipAddress], reason: 'too many invitations have been sent from your address' },
      { charge: ['invitationMailPerEmail', recipientKey], reason: 'this address has had too many invitations' },
    ] as const;
    for (const { charge, reason } of limits) {
      try {
        await this.rateLimits.consume(charge);
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        return `Not invited: ${reason}; try again in ${error.retryAfterSeconds} s`;
      }
    }
    return null;
  }

  /** Hashed in `prepare`; hashed now only if the account was deleted since. */
  private async passwordHash(line: ImportLine, prepared: PreparedImport): Promise<string | null> {
    if (!line.password) return null;
    return prepared.passwordHashes.get(line.line) ?? this.hasher.hash(line.password, this.importBcryptCost);
  }
}

/**
 * Every invitation mailed was counted against its recipient's limit in `prepare`; one that
 * appeared since (an account registered, or a member removed, meanwhile) was not. After a mail
 * failure, the file's later invitations are not tried.
 */
function assertMayInvite(line: number, prepared: PreparedImport, mailFailedOnLine: number | null) {
  if (!prepared.invitable.has(line)) throw new AppError('import.account_changed');
  if (mailFailedOnLine !== null) {
    throw new AppError('import.invitation_not_sent', {
      message: `Not invited: the mail server failed on line ${mailFailedOnLine}; import this line again later`,
    });
  }
}

function failedLine(line: number, email: string | null, error: string): LineOutcome {
  return { line, email, status: ImportLineStatus.FAILED, error };
}

/** The totals and the lines in file order; the totals are counted from the lines, so they always agree. */
function summarise(outcomes: LineOutcome[]): ImportResult {
  const lines = outcomes.sort((a, b) => a.line - b.line);
  const count = (status: ImportLineStatus) => lines.filter((line) => line.status === status).length;
  return {
    created: count(ImportLineStatus.CREATED),
    updated: count(ImportLineStatus.UPDATED),
    invited: count(ImportLineStatus.INVITED),
    failed: lines.flatMap(({ line, error }) => (error === null ? [] : [{ line, error }])),
    lines,
  };
}

function describe(state: MemberState) {
  const names = (items: Array<{ name: string }>) => items.map((item) => item.name).sort();
  return {
    firstName: state.firstName,
    lastName: state.lastName,
    role: state.role.key,
    groups: names(state.groups),
    teams: names(state.teams),
  };
}

/**
 * The message reported for a failed line. Expected failures are AppErrors; a unique index can
 * still refuse a new account when a concurrent request registered the same person first; the mail
 * server can fail an invitation. Anything else is a fault, and fails the whole import.
 */
function failureMessage(error: unknown): string {
  if (error instanceof AppError) return error.message;
  if (error instanceof InvitationNotSentError) return new AppError('import.invitation_not_sent').message;
  if (isUniqueViolation(error, 'users_email_lower_key')) return new AppError('user.email_in_use').message;
  throw error;
}

/** Renaming a member is an act on their whole account, which may belong to other orgs too. */
async function assertMayRename(caller: Caller, plan: UpdatePlan): Promise<void> {
  const allowed = await caller.authorityOverAccount(plan.account.id);
  if (allowed !== true) throw allowed;
}
