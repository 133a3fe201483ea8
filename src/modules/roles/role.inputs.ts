import { IdArgs } from '../../core/graphql/id-args';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { NotBlank } from '../../core/graphql/text-rules';
import { ArgsType, Field, ID, InputType } from 'type-graphql';
import { PERMISSIONS } from '../../core/permissions/permissions';

const UNKNOWN_PERMISSION = { each: true, message: `each permission must be one of: ${PERMISSIONS.join(', ')}` };

@InputType('CreateRoleInput')
export class CreateRoleInput {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field()
  @IsString()
  @Length(1, 100)
  @NotBlank()
  name!: string;

  @Field(() => [String])
  @IsArray()
  @ArrayMaxSize(PERMISSIONS.length)
  @IsIn(PERMISSIONS, UNKNOWN_PERMISSION)
  permissions!: string[];
}

@InputType('UpdateRoleInput')
export class UpdateRoleInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  @NotBlank()
  name?: string | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(PERMISSIONS.length)
  @IsIn(PERMISSIONS, UNKNOWN_PERMISSION)
  permissions?: string[] | null;
}

@ArgsType()
export class UpdateRoleArgs extends IdArgs {
  @Field(() => UpdateRoleInput)
  input!: UpdateRoleInput;
}
