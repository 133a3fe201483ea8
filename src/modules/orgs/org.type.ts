import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType('Org', { description: 'A tenant: the unit that owns members, roles and resources.' })
export class OrgType {
  @Field(() => ID)
  id!: string;

  @Field()
  slug!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;
}
