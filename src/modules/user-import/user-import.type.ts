import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum ImportLineStatus {
  CREATED = 'CREATED',
  UPDATED = 'UPDATED',
  INVITED = 'INVITED',
  UNCHANGED = 'UNCHANGED',
  FAILED = 'FAILED',
}

registerEnumType(ImportLineStatus, {
  name: 'ImportLineStatus',
  valuesConfig: {
    CREATED: { description: 'A new account, a member of the org at once.' },
    UPDATED: { description: 'A member whose names, role, groups or teams changed.' },
    INVITED: {
      description:
        'An existing account that is not a member: it was sent an email invitation with the role, groups and ' +
        'teams of the line, and joins only if its holder accepts. The names, password and customerId of the line ' +
        'are ignored.',
    },
    UNCHANGED: { description: 'A member the line describes as they already are.' },
    FAILED: { description: 'Nothing changed; `error` says why.' },
  },
});

@ObjectType('ImportFailure', { description: 'A line that changed nothing, and why.' })
export class ImportFailureType {
  @Field(() => Int, { description: 'The line in the file where the row starts; the header is line 1.' })
  line!: number;

  @Field()
  error!: string;
}

@ObjectType('ImportLineResult', { description: 'What one line of the file did.' })
export class ImportLineResultType {
  @Field(() => Int, { description: 'The line in the file where the row starts; the header is line 1.' })
  line!: number;

  @Field(() => String, { nullable: true, description: 'As written in the line; null when it had none readable.' })
  email!: string | null;

  @Field(() => ImportLineStatus)
  status!: ImportLineStatus;

  @Field(() => String, { nullable: true, description: 'Why the line failed; null unless FAILED.' })
  error!: string | null;
}

@ObjectType('ImportUsersResult', {
  description: 'Every line counts once: created + updated + invited + failed + the UNCHANGED lines = all lines.',
})
export class ImportUsersResultType {
  @Field(() => Int, { description: 'New accounts, members of the org at once.' })
  created!: number;

  @Field(() => Int, { description: 'Members whose names, role, groups or teams changed.' })
  updated!: number;

  @Field(() => Int, {
    description: 'Existing accounts that are not members, sent an email invitation instead of being added.',
  })
  invited!: number;

  @Field(() => [ImportFailureType], { description: 'In line order; every other line succeeded or needed no change.' })
  failed!: ImportFailureType[];

  @Field(() => [ImportLineResultType], { description: 'Every line of the file after the header, in line order.' })
  lines!: ImportLineResultType[];
}

/** One entry per line of the submitted CSV: bounded by the request body, not by the org's size. */
export const IMPORT_RESULT_LISTS = ['ImportUsersResult.lines', 'ImportUsersResult.failed'] as const;
