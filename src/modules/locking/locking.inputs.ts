import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';

@ArgsType()
export class LockArgs {
  @Field(() => ID)
  @MaxLength(64)
  userId!: string;

  @Field(() => String, { nullable: true, description: 'Shown to administrators, never to the user.' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string | null;
}

@ArgsType()
export class UnlockArgs {
  @Field(() => ID)
  @MaxLength(64)
  userId!: string;
}
