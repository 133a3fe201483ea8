import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { PageInfoType, pageInfoFrom } from '../../core/graphql/connection';
import type { AuditPage } from './audit-query';

export const AUDIT_CHANGES_DESCRIPTION =
  'Before and after values; never a secret. Emails and names read "[erased]" once their account was deleted.';

@ObjectType('AuditLog', {
  description: 'One recorded change; never edited, and deleted only by retention (pruneAuditLogs).',
})
export class AuditLogType {
  @Field(() => ID)
  id!: string;

  @Field({
    description:
      "A PrincipalKind (HUMAN, SERVICE_ACCOUNT, CUSTOMER), SYSTEM or ANONYMOUS; in an org's record of an account event, EXTERNAL or SUPER_USER for an actor from outside the org (then actor, ipAddress and userAgent are null).",
  })
  actorKind!: string;

  @Field({ description: 'What happened, e.g. "user.invited".' })
  action!: string;

  @Field(() => String, { nullable: true })
  targetType!: string | null;

  @Field(() => String, { nullable: true })
  targetId!: string | null;

  @Field(() => String, { nullable: true })
  ipAddress!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true, description: 'The x-request-id of the request that made the change.' })
  requestId!: string | null;

  /** As stored: personal data sealed (core/audit/personal-data.ts); AuditChangesResolver opens it. */
  @Field(() => GraphQLJSONObject, { nullable: true, description: AUDIT_CHANGES_DESCRIPTION })
  changes!: Record<string, unknown> | null;

  @Field({ description: 'UTC.' })
  createdAt!: Date;

  @Field(() => String, {
    nullable: true,
    description:
      "SHA-256 over the record's content and the previous record's hash (the org's chain). Null until the record is linked into its chain, within about a second of its commit.",
  })
  hash!: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "Shared by the records of one event: an account event is recorded in the account chain and in each org's chain. Null on records older than event ids.",
  })
  eventId!: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'The account the record is about (the member, session owner or key owner), whatever its target.',
  })
  subjectUserId!: string | null;

  /** Read by the actor, apiKey and org field resolvers and by the record's shield rule. */
  orgId!: string | null;
  actorId!: string | null;
  apiKeyId!: string | null;
}

@ObjectType('AuditLogEdge')
export class AuditLogEdgeType {
  @Field()
  cursor!: string;

  @Field(() => AuditLogType)
  node!: AuditLogType;
}

@ObjectType('AuditLogConnection', { description: 'Audit records, newest first.' })
export class AuditLogConnectionType {
  @Field(() => [AuditLogEdgeType])
  edges!: AuditLogEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;

  /** Resolves `totalCount` only when a client asks for it. */
  page!: AuditPage;

  static from(page: AuditPage): AuditLogConnectionType {
    return Object.assign(new AuditLogConnectionType(), {
      page,
      edges: page.edges.map(({ cursor, record }) => ({ cursor, node: record })),
      pageInfo: pageInfoFrom(page),
    });
  }
}

@ObjectType('AuditChainVerification', { description: 'The result of re-checking an audit hash chain.' })
export class AuditChainVerificationType {
  @Field()
  valid!: boolean;

  @Field(() => Int, { description: 'Records examined, the first invalid one included.' })
  checked!: number;

  @Field(() => Int, {
    description:
      "The chain's records that committed while it was checked and wait to be linked into it (within about a second).",
  })
  notYetChained!: number;

  @Field(() => ID, { nullable: true })
  firstInvalidId!: string | null;

  @Field(() => String, { nullable: true, description: 'Its position in insertion order (a bigint, as text).' })
  firstInvalidSeq!: string | null;

  @Field(() => String, { nullable: true })
  reason!: string | null;
}
