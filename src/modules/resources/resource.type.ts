import { createUnionType, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../core/graphql/connection-type';
import { GroupEntity } from '../groups/group.entity';
import { GroupType } from '../groups/group.type';
import { NodeInterface } from '../nodes/node.type';
import { UserType } from '../users/user.type';
import { AccessLevel } from './access-grant.entity';

registerEnumType(AccessLevel, {
  name: 'AccessLevel',
  description: 'READ < WRITE < ADMIN; each includes the ones below.',
});

@ObjectType('Resource', { implements: NodeInterface, description: 'An API or other protected thing in an org.' })
export class ResourceType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  environment!: string | null;

  @Field(() => String, { nullable: true })
  category!: string | null;

  @Field(() => [String], { description: 'Customers with these ids may READ it without a grant.' })
  customerIds!: string[];

  @Field()
  createdAt!: Date;

  orgId!: string;
}

@ObjectType('AccessGrant', { implements: NodeInterface })
export class AccessGrantType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field(() => AccessLevel)
  level!: AccessLevel;

  @Field()
  createdAt!: Date;

  resourceId!: string;
  userId!: string | null;
  groupId!: string | null;
}

export const ResourceConnection = connectionType('Resource', () => ResourceType, "An org's resources, by name.");

export const AccessGrantConnection = connectionType(
  'AccessGrant',
  () => AccessGrantType,
  'Access grants, oldest first.',
);

export const AccessPrincipalUnion = createUnionType({
  name: 'AccessPrincipal',
  description: 'Who a grant is for.',
  types: () => [UserType, GroupType] as const,
  resolveType: (value) => (value instanceof GroupEntity ? 'Group' : 'User'),
});

@ObjectType('ResourceAccessCounts', { description: 'How many principals may use a resource, by path.' })
export class ResourceAccessCountsType {
  @Field(() => Int, { description: 'People (and customers) with a direct grant.' })
  users!: number;

  @Field(() => Int, { description: 'Service accounts with a direct grant.' })
  serviceAccounts!: number;

  @Field(() => Int, { description: 'Customers matched by customerIds or granted directly.' })
  customers!: number;

  @Field(() => Int, { description: 'Groups with a grant.' })
  groups!: number;
}

@ObjectType('AccessDecision')
export class AccessDecisionType {
  @Field()
  allowed!: boolean;

  @Field({
    description: 'The path that allowed it (direct grant, group grant, customerId match, org role) or why not.',
  })
  reason!: string;
}
