import { IsBoolean, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { NotBlank } from '../../core/graphql/text-rules';
import { ArgsType, Field, ID, InputType } from 'type-graphql';

const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SLUG_MESSAGE = 'slug must be 1-63 lower-case letters, digits or inner hyphens';

@InputType('CreateOrgInput')
export class CreateOrgInput {
  @Field()
  @IsString()
  @Length(1, 200)
  @NotBlank()
  name!: string;

  @Field(() => String, { nullable: true, description: 'Derived from the name when omitted.' })
  @IsOptional()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE })
  slug?: string | null;
}

@InputType('UpdateOrgInput')
export class UpdateOrgInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @NotBlank()
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE })
  slug?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Shut members whose email address is unverified out of this org until they verify it.',
  })
  @IsOptional()
  @IsBoolean()
  requireVerifiedEmail?: boolean | null;
}

@ArgsType()
export class OrgLookupArgs {
  @Field(() => ID, { nullable: true })
  @IsOptional()
  @MaxLength(64)
  id?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(63)
  slug?: string | null;
}

@ArgsType()
export class UpdateOrgArgs {
  @Field(() => ID)
  @MaxLength(64)
  id!: string;

  @Field(() => UpdateOrgInput)
  input!: UpdateOrgInput;
}
