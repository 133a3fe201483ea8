import { IsEmail, IsString, Length, MaxLength } from 'class-validator';
import { ArgsType, Field } from 'type-graphql';

const MAX_EMAIL_LENGTH = 320;
const MAX_PASSWORD_INPUT_LENGTH = 1024;
const MAX_TOKEN_LENGTH = 256;

@ArgsType()
export class VerifyEmailArgs {
  @Field({ description: 'The token of the verification link.' })
  @IsString()
  @Length(1, MAX_TOKEN_LENGTH)
  token!: string;
}

@ArgsType()
export class ChangeEmailArgs {
  @Field({ description: 'The address to switch to, once the link mailed to it is followed.' })
  @IsEmail()
  @MaxLength(MAX_EMAIL_LENGTH)
  newEmail!: string;

  @Field({ description: "The caller's current password." })
  @IsString()
  @Length(1, MAX_PASSWORD_INPUT_LENGTH)
  password!: string;
}
