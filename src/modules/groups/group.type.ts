import { Field, ID, ObjectType } from 'type-graphql';
import { connectionType } from '../../core/graphql/connection-type';
import { NodeInterface } from '../nodes/node.type';
import { UserType } from '../users/user.type';

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

export const GroupConnection = connectionType('Group', () => GroupType, "An org's groups, by name.");

export const GroupMemberConnection = connectionType(
  'GroupMember',
  () => UserType,
  "A group's members (users, service accounts, customers), by email.",
);
