import { Field, ID, ObjectType } from 'type-graphql';
import { NodeInterface } from '../nodes/node.type';

@ObjectType('Group', {
  implements: NodeInterface,
  description: "A set of an org's principals; its members inherit its role, if it has one.",
})
export class GroupType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;

  /** Not exposed: resolves `org` and scopes the group's permission checks. */
  orgId!: string;

  /** Not exposed: resolves `role`. */
  roleId!: string | null;
}
