import { IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';

/** Bounds on what a sign-in may send; the real password policy applies where passwords are set. */
const MAX_EMAIL_LENGTH = 320;
const MAX_PASSWORD_LENGTH = 1024;
export const MAX_TOKEN_LENGTH = 256;

@ArgsType()
export class LoginArgs {
  @Field()
  @IsString()
  @Length(1, MAX_EMAIL_LENGTH)
  email!: string;

  @Field()
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  password!: string;

  @Field(() => ID, { nullable: true, description: 'The org to act in; defaults to the default or first org.' })
  @IsOptional()
  @MaxLength(64)
  orgId?: string | null;
}

@ArgsType()
export class RefreshTokenArgs {
  @Field()
  @IsString()
  @Length(1, MAX_TOKEN_LENGTH)
  refreshToken!: string;
}
