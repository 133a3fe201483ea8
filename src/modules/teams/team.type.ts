import { Field, ID, ObjectType } from 'type-graphql';
import { NodeInterface } from '../nodes/node.type';

@ObjectType('Team', { implements: NodeInterface, description: 'A named set of members within one org.' })
export class TeamType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'Derived from the name; unique within the org.' })
  slug!: string;

  @Field()
  createdAt!: Date;

  /** Not exposed: resolves `org` and scopes the team's permission checks. */
  orgId!: string;
}
