import { Field, ID, ObjectType } from 'type-graphql';
import { NodeInterface } from '../nodes/node.type';

@ObjectType('Role', { implements: NodeInterface, description: 'A named set of permissions within one org.' })
export class RoleType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field()
  key!: string;

  @Field()
  name!: string;

  @Field()
  builtIn!: boolean;

  @Field(() => [String])
  permissions!: string[];

  /** Not exposed: scopes the role to its org. */
  orgId!: string;
}
