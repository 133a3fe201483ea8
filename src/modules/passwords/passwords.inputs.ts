import { IsString, Length, MaxLength } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';

/**
 * Bounds on what a request may send. They are looser than the password policy on purpose, so a
 * too-long password is refused by the policy with its own reason and field.
 */
const MAX_PASSWORD_INPUT_LENGTH = 1024;
const MAX_EMAIL_LENGTH = 320;
const MAX_TOKEN_LENGTH = 256;

@ArgsType()
export class ChangePasswordArgs {
  @Field()
  @IsString()
  @Length(1, MAX_PASSWORD_INPUT_LENGTH)
  currentPassword!: string;

  @Field()
  @IsString()
  @Length(1, MAX_PASSWORD_INPUT_LENGTH)
  newPassword!: string;
}

@ArgsType()
export class RequestPasswordResetArgs {
  @Field()
  @IsString()
  @Length(1, MAX_EMAIL_LENGTH)
  email!: string;
}

@ArgsType()
export class ResetPasswordArgs {
  @Field({ description: 'The token of the reset link.' })
  @IsString()
  @Length(1, MAX_TOKEN_LENGTH)
  token!: string;

  @Field()
  @IsString()
  @Length(1, MAX_PASSWORD_INPUT_LENGTH)
  newPassword!: string;
}

@ArgsType()
export class SetPasswordArgs {
  @Field(() => ID)
  @IsString()
  @MaxLength(64)
  userId!: string;

  @Field()
  @IsString()
  @Length(1, MAX_PASSWORD_INPUT_LENGTH)
  password!: string;
}
