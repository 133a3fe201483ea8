import { IdArgs } from '../../core/graphql/id-args';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  MinDate,
} from 'class-validator';
import { NotBlank } from '../../core/graphql/text-rules';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { PERMISSIONS } from '../../core/permissions/permissions';

@InputType('CreateServiceAccountInput')
export class CreateServiceAccountInput {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field()
  @IsString()
  @Length(1, 200)
  @NotBlank()
  name!: string;

  @Field(() => ID)
  @MaxLength(64)
  roleId!: string;
}

@InputType('CreateKeyInput')
export class CreateKeyInput {
  @Field(() => ID, { description: 'A service account, or yourself for a personal access token.' })
  @MaxLength(64)
  ownerId!: string;

  @Field()
  @IsString()
  @Length(1, 200)
  name!: string;

  @Field(() => [String], { description: "Permissions within the owner's role." })
  @ArrayMinSize(1)
  @ArrayMaxSize(PERMISSIONS.length)
  @IsIn(PERMISSIONS, { each: true, message: `each scope must be one of: ${PERMISSIONS.join(', ')}` })
  scopes!: string[];

  @Field(() => Date, { nullable: true, description: 'No expiry when omitted.' })
  @IsOptional()
  // A function, so "now" is read each time an input is validated, not once when this class loads.
  @MinDate(() => new Date(), { message: '$property must be in the future' })
  expiresAt?: Date | null;

  @Field(() => ID, { nullable: true, description: "The key's org, for an owner in several orgs." })
  @IsOptional()
  @MaxLength(64)
  orgId?: string | null;
}

@ArgsType()
export class RotateKeyArgs extends IdArgs {
  @Field(() => Int, { defaultValue: 0, description: 'How long the old key keeps working; 0 ends it at once.' })
  @IsInt()
  @Min(0)
  @Max(30 * 86_400)
  gracePeriodSeconds!: number;
}
