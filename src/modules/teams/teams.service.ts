import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { queryRows } from '../../core/db/sql';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { slugify } from '../orgs/slug';
import { lockOrg } from '../roles/role-rank';
import { assertTeamNameFree, freeTeamSlug } from './team-names';
import { TeamEntity } from './team.entity';

export type NewTeam = { orgId: string; name: string };
export type TeamChanges = { name?: string | null };

/**
 * Teams and their members. The shield rules have checked teams:write in the team's org. Every
 * write holds the org lock: it serialises name and slug checks, and `removeMember` takes the same
 * lock, so a user cannot join a team while leaving its org.
 */
export class TeamsService {
  async createTeam(tx: EntityManager, actor: AuditActor, input: NewTeam): Promise<TeamEntity> {
    if (!(await lockOrg(tx, input.orgId))) throw new AppError('org.not_found');
    const name = input.name.trim();
    await assertTeamNameFree(tx, input.orgId, name);
    const slug = await freeTeamSlug(tx, input.orgId, name);
    const team = await tx.save(tx.create(TeamEntity, { orgId: input.orgId, name, slug }));
    await this.audit(tx, actor, team, 'team.created', { after: { name, slug } });
    return team;
  }

  /**
   * A rename derives a new slug, unless the new name slugifies as the old one did: a slug that can
   * stay does, so links to the team keep working.
   */
  async updateTeam(tx: EntityManager, actor: AuditActor, id: string, changes: TeamChanges): Promise<TeamEntity> {
    const team = await this.lockedTeam(tx, id);
    const name = changes.name?.trim();
    if (!name || name === team.name) return team;
    await assertTeamNameFree(tx, team.orgId, name, team.id);
    const before = { name: team.name, slug: team.slug };
    if (slugify(name, 'team') !== slugify(team.name, 'team'))
      team.slug = await freeTeamSlug(tx, team.orgId, name, team.id);
    team.name = name;
    await tx.save(team);
    await this.audit(tx, actor, team, 'team.updated', { before, after: { name: team.name, slug: team.slug } });
    return team;
  }

  /** Memberships go with the team (ON DELETE CASCADE); the audit record lists who was in it. */
  async deleteTeam(tx: EntityManager, actor: AuditActor, id: string): Promise<boolean> {
    const team = await this.lockedTeam(tx, id);
    const members: Array<{ user_id: string }> = await tx.query(
      'SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id',
      [team.id],
    );
    await tx.delete(TeamEntity, { id: team.id });
    const userIds = members.map((member) => member.user_id);
    await this.audit(tx, actor, team, 'team.deleted', { before: { name: team.name, slug: team.slug, userIds } });
    return true;
  }

  /**
   * Adds members of the team's org (any membership status). One outsider refuses the whole call;
   * users already in the team are skipped, and a call that adds nobody is not audited.
   */
  async addMembers(tx: EntityManager, actor: AuditActor, teamId: string, userIds: string[]): Promise<TeamEntity> {
    const team = await this.lockedTeam(tx, teamId);
    // Ids come back from the database in lower case; compare and report them the same way.
    const requested = [...new Set(userIds.map((id) => id.toLowerCase()))];
    const members: Array<{ user_id: string }> = await tx.query(
      'SELECT user_id FROM memberships WHERE org_id = $1 AND user_id = ANY($2::uuid[])',
      [team.orgId, requested.filter(isId)],
    );
    const orgMembers = new Set(members.map((member) => member.user_id));
    const outsider = requested.find((id) => !orgMembers.has(id));
    if (outsider !== undefined) {
      throw new AppError('team.user_not_member', {
        field: 'userIds',
        message: `User ${outsider} is not a member of the team's org`,
      });
    }
    const added = await queryRows<{ user_id: string }>(
      tx,
      `INSERT INTO team_members (team_id, user_id) SELECT $1, unnest($2::uuid[])
       ON CONFLICT DO NOTHING RETURNING user_id`,
      [team.id, requested],
    );
    if (added.length > 0) await this.audit(tx, actor, team, 'team.members_added', { userIds: sortedIds(added) });
    return team;
  }

  /** Ids that are not in the team are ignored; a call that removes nobody is not audited. */
  async removeMembers(tx: EntityManager, actor: AuditActor, teamId: string, userIds: string[]): Promise<TeamEntity> {
    const team = await this.lockedTeam(tx, teamId);
    const removed = await queryRows<{ user_id: string }>(
      tx,
      'DELETE FROM team_members WHERE team_id = $1 AND user_id = ANY($2::uuid[]) RETURNING user_id',
      [team.id, userIds.filter(isId)],
    );
    if (removed.length > 0) await this.audit(tx, actor, team, 'team.members_removed', { userIds: sortedIds(removed) });
    return team;
  }

  /** The team, read again once its org is locked: a concurrent delete may have won the race. */
  private async lockedTeam(tx: EntityManager, id: string): Promise<TeamEntity> {
    const unlocked = await tx.findOneBy(TeamEntity, { id });
    if (!unlocked || !(await lockOrg(tx, unlocked.orgId))) throw new AppError('team.not_found');
    const team = await tx.findOneBy(TeamEntity, { id });
    if (!team) throw new AppError('team.not_found');
    return team;
  }

  private async audit(
    tx: EntityManager,
    actor: AuditActor,
    team: TeamEntity,
    action: string,
    changes: Record<string, unknown>,
  ): Promise<void> {
    await recordAudit(tx, actor, { action, orgId: team.orgId, targetType: 'Team', targetId: team.id, changes });
  }
}

function sortedIds(rows: Array<{ user_id: string }>): string[] {
  return rows.map((row) => row.user_id).sort();
}
