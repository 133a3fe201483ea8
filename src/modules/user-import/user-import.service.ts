import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import type { PasswordHasher } from '../../core/crypto/password-hasher';
import { isUniqueViolation } from '../../core/db/pg-errors';
import { AppError } from '../../core/errors/app-error';
import { lockOrg } from '../roles/role-rank';
import type { PrincipalKind } from '../users/user.entity';
import { exportMembersCsv } from './csv-export';
import { readImportCsv, type LineFailure } from './import-csv';
import { emailKeyOf, readImportLine, type ImportLine } from './import-line';
import { planLine, type Caller, type LinePlan, type MemberState } from './import-plan';
import { loadAccounts, OrgCatalog, registeredEmails } from './import-state';
import { insertMember, insertMembership, syncGroupsAndTeams, updateMember } from './import-writes';
import { LineSavepoints } from './line-savepoint';
import { hashAll } from './password-hashes';

/** The lines that passed their own checks, those that did not, and the new accounts' password hashes by line. */
export type PreparedImport = { lines: ImportLine[]; failures: LineFailure[]; passwordHashes: Map<number, string> };
export type ImportResult = { created: number; updated: number; failed: LineFailure[] };

/**
 * CSV import and export of an org's members. Each line of an import succeeds or fails alone,
 * inside one transaction. The shield has checked that the caller may invite; the rules that
 * depend on a line (escalation, rank, own role, last owner) are checked here, line by line.
 */
export class UserImportService {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly importBcryptCost: number,
  ) {}

  /**
   * The work that needs no lock, done before the transaction: reading and checking each line,
   * and hashing the passwords of the accounts to be created (bcrypt's async API runs on libuv's
   * thread pool, off the event loop). Existing accounts keep their password: theirs are not hashed.
   */
  async prepare(db: EntityManager, csv: string): Promise<PreparedImport> {
    const { rows, failures } = readImportCsv(csv);
    const lines: ImportLine[] = [];
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
        lines.push(line);
      } catch (error) {
        failures.push({ line: row.line, error: failureMessage(error) });
      }
    }
    const registered = await registeredEmails(
      db,
      lines.map((line) => line.email),
    );
    const toHash = lines.filter((line) => line.password && !registered.has(line.email.toLowerCase()));
    const hashes = await hashAll(
      toHash.map((line) => line.password!),
      (password) => this.hasher.hash(password, this.importBcryptCost),
    );
    return { lines, failures, passwordHashes: new Map(toHash.map((line, index) => [line.line, hashes[index]])) };
  }

  /**
   * Applies the prepared lines under the org lock (so owners cannot vanish between checks). Each
   * line that changes something runs in its own savepoint and writes one audit record.
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
    const result: ImportResult = { created: 0, updated: 0, failed: [...prepared.failures] };
    const savepoints = new LineSavepoints(tx);
    for (const line of prepared.lines) {
      try {
        const plan = planLine(line, accounts.get(line.email.toLowerCase()) ?? null, catalog, caller);
        if (!plan) continue;
        await savepoints.run(() => this.applyLine(tx, actor, orgId, line, plan, prepared));
        if (plan.before) result.updated++;
        else result.created++;
      } catch (error) {
        result.failed.push({ line: line.line, error: failureMessage(error) });
      }
    }
    result.failed.sort((a, b) => a.line - b.line);
    return result;
  }

  exportUsers(db: EntityManager, orgId: string, kind: PrincipalKind | null): Promise<string> {
    return exportMembersCsv(db, orgId, kind);
  }

  private async applyLine(
    tx: EntityManager,
    actor: AuditActor,
    orgId: string,
    line: ImportLine,
    plan: LinePlan,
    prepared: PreparedImport,
  ) {
    const userId = plan.account
      ? await this.changeMember(tx, actor, orgId, plan, plan.account.id)
      : await insertMember(tx, orgId, line, plan, await this.passwordHash(line, prepared), actor.actorId);
    await recordAudit(tx, actor, {
      action: 'user.imported',
      orgId,
      targetType: 'User',
      targetId: userId,
      changes: {
        before: plan.before && describe(plan.before),
        after: {
          ...(plan.account ? {} : { email: line.email, customerId: line.customerId ?? null }),
          ...describe(plan.after),
        },
      },
    });
  }

  private async changeMember(
    tx: EntityManager,
    actor: AuditActor,
    orgId: string,
    plan: LinePlan,
    userId: string,
  ): Promise<string> {
    if (plan.before) await updateMember(tx, orgId, userId, plan);
    else await insertMembership(tx, orgId, userId, plan, actor.actorId);
    await syncGroupsAndTeams(tx, userId, plan);
    return userId;
  }

  /** Hashed in `prepare`; hashed now only if the account was deleted since. */
  private async passwordHash(line: ImportLine, prepared: PreparedImport): Promise<string | null> {
    if (!line.password) return null;
    return prepared.passwordHashes.get(line.line) ?? this.hasher.hash(line.password, this.importBcryptCost);
  }
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
 * still refuse a line when a concurrent request registered the same person first. Anything else
 * is a fault, and fails the whole import.
 */
function failureMessage(error: unknown): string {
  if (error instanceof AppError) return error.message;
  if (isUniqueViolation(error, 'users_email_lower_key')) return new AppError('user.email_in_use').message;
  if (isUniqueViolation(error, 'memberships_org_user_key')) return new AppError('invitation.already_member').message;
  throw error;
}
