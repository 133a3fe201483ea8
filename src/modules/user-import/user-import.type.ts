import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType('ImportFailure', { description: 'A line that changed nothing, and why.' })
export class ImportFailureType {
  @Field(() => Int, { description: 'The line in the file where the row starts; the header is line 1.' })
  line!: number;

  @Field()
  error!: string;
}

@ObjectType('ImportUsersResult')
export class ImportUsersResultType {
  @Field(() => Int, { description: 'New members: new accounts, and existing accounts that joined the org.' })
  created!: number;

  @Field(() => Int, { description: 'Members whose names, role, groups or teams changed.' })
  updated!: number;

  @Field(() => [ImportFailureType], { description: 'In line order; every other line succeeded or needed no change.' })
  failed!: ImportFailureType[];
}
