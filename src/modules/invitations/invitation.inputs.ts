import { ArrayMaxSize, IsEmail, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { PageArgs } from '../../core/graphql/connection';
import { InvitationStatus } from './invitation.type';

export const LINK_MAX_LIFETIME_SECONDS = 86_400;

@InputType('InviteInput')
export class InviteInput {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field()
  @IsEmail()
  @MaxLength(320)
  email!: string;

  @Field(() => ID)
  @MaxLength(64)
  roleId!: string;

  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  groupIds?: string[] | null;

  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  teamIds?: string[] | null;

  @Field(() => String, { nullable: true, description: 'A personal note included in the email.' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  message?: string | null;

  @Field(() => String, { nullable: true, description: 'Makes the new account a CUSTOMER tied to this id.' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  customerId?: string | null;
}

@InputType('CreateInviteLinkInput')
export class CreateInviteLinkInput {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field(() => ID)
  @MaxLength(64)
  roleId!: string;

  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  groupIds?: string[] | null;

  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  teamIds?: string[] | null;

  @Field(() => Int, { nullable: true, description: `At most ${LINK_MAX_LIFETIME_SECONDS} (24 h), the default.` })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(LINK_MAX_LIFETIME_SECONDS)
  expiresInSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: 'How many people may join with it; unlimited by default.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  maxUses?: number | null;
}

@InputType('AcceptInvitationInput')
export class AcceptInvitationInput {
  @Field()
  @IsString()
  @Length(1, 256)
  token!: string;

  @Field(() => String, { nullable: true, description: 'Needed only when a new user joins through a link.' })
  @IsOptional()
  @IsEmail()
  @MaxLength(320)
  email?: string | null;

  @Field(() => String, { nullable: true, description: 'Needed only for a new account.' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  lastName?: string | null;
}

@ArgsType()
export class InvitationsArgs extends PageArgs {
  @Field(() => InvitationStatus, { nullable: true })
  @IsOptional()
  status?: InvitationStatus | null;
}
