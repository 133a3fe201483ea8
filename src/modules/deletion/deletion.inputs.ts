import { IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';

@ArgsType()
export class DeleteOrgArgs {
  @Field(() => ID)
  @MaxLength(64)
  id!: string;

  @Field({ description: "The org's slug, typed again: a guard against deleting the wrong org." })
  @IsString()
  @MaxLength(63)
  confirmSlug!: string;
}

@ArgsType()
export class DeleteAccountArgs {
  @Field(() => String, { nullable: true, description: 'Your password, to delete your own account.' })
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  password?: string | null;

  @Field(() => ID, { nullable: true, description: 'Another account (super users only); omit for your own.' })
  @IsOptional()
  @MaxLength(64)
  userId?: string | null;
}
