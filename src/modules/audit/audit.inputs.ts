import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { PageArgs } from '../../core/graphql/connection';

@InputType('AuditLogFilter', { description: 'Every given condition must hold.' })
export class AuditLogFilter {
  @Field(() => ID, { nullable: true })
  @IsOptional()
  @MaxLength(64)
  actorId?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Records about this account, whatever their target (user, membership, session, API key).',
  })
  @IsOptional()
  @MaxLength(64)
  subjectUserId?: string | null;

  @Field(() => String, { nullable: true, description: 'An exact action, e.g. "member.role_changed".' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  targetType?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  targetId?: string | null;

  @Field(() => Date, { nullable: true, description: 'Records created at or after this instant.' })
  @IsOptional()
  since?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Records created before this instant.' })
  @IsOptional()
  until?: Date | null;
}

@ArgsType()
export class AuditLogsArgs extends PageArgs {
  @Field(() => ID, { nullable: true, description: 'Required, except for a super user: null reads every org.' })
  @IsOptional()
  @MaxLength(64)
  orgId?: string | null;

  @Field(() => AuditLogFilter, { nullable: true })
  @IsOptional()
  filter?: AuditLogFilter | null;
}

@ArgsType()
export class VerifyAuditChainArgs {
  @Field(() => ID, {
    nullable: true,
    description: 'Null or absent: the account-level chain (records without an org), for super users only.',
  })
  @IsOptional()
  @MaxLength(64)
  orgId?: string | null;
}

@ArgsType()
export class SetAuditRetentionArgs {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field(() => Int, { nullable: true, description: '1 to 3650; null keeps records forever.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3650)
  days?: number | null;
}

@ArgsType()
export class PruneAuditLogsArgs {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;
}
