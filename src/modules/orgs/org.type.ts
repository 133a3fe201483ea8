import { Field, ID, Int, ObjectType } from 'type-graphql';
import { connectionType } from '../../core/graphql/connection-type';
import { NodeInterface } from '../nodes/node.type';

@ObjectType('Org', {
  implements: NodeInterface,
  description: 'A tenant: the unit that owns members, roles and resources.',
})
export class OrgType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field()
  slug!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;

  @Field(() => Int, {
    nullable: true,
    description: 'Days audit records are kept before pruneAuditLogs removes them; null keeps them forever.',
  })
  auditRetentionDays!: number | null;

  @Field({
    description:
      'Whether members (people and customers) must have verified their email address to act in this org or use its resources.',
  })
  requireVerifiedEmail!: boolean;
}

export const OrgConnection = connectionType('Org', () => OrgType, 'Orgs, by name.');
