import { MaxLength } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';

/** The `id` argument of every operation on one object; ids are uuids, never longer than 64. */
@ArgsType()
export class IdArgs {
  @Field(() => ID)
  @MaxLength(64)
  id!: string;
}
