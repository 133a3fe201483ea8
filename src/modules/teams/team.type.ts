import { Field, ID, ObjectType } from 'type-graphql';
import { connectionType } from '../../core/graphql/connection-type';
import { NodeInterface } from '../nodes/node.type';
import { UserType } from '../users/user.type';

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

export const TeamConnection = connectionType('Team', () => TeamType, "An org's teams, by name.");

export const TeamMemberConnection = connectionType('TeamMember', () => UserType, "A team's members, by email.");
