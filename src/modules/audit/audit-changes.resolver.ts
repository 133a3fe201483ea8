import { GraphQLJSONObject } from 'graphql-scalars';
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { openPersonalData, sealedSubjects } from '../../core/audit/personal-data';
import type { GraphQLContext } from '../../core/context/context';
import { AUDIT_CHANGES_DESCRIPTION, AuditLogType } from './audit-log.type';

@Resolver(() => AuditLogType)
export class AuditChangesResolver {
  @FieldResolver(() => GraphQLJSONObject, { nullable: true, description: AUDIT_CHANGES_DESCRIPTION })
  async changes(@Root() record: AuditLogType, @Ctx() ctx: GraphQLContext) {
    const subjects = sealedSubjects(record.changes);
    if (subjects.length === 0) return record.changes;
    // Every record of a page asks in the same tick: one statement for the page.
    const keys = await Promise.all(subjects.map((subject) => ctx.loaders.auditSubjectKey.load(subject)));
    return openPersonalData(record.changes, new Map(subjects.map((subject, index) => [subject, keys[index]])));
  }
}
