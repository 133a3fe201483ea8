import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';
import { PrincipalKind } from '../users/user.entity';

@ArgsType()
export class ImportUsersArgs {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field({
    description:
      'CSV with a header line. Columns, in any order and any case: email (required), firstName, lastName, ' +
      'role (key or name; default viewer), groups and teams (names separated by ";"), password (new accounts only), ' +
      'customerId (makes a new account a CUSTOMER). The columns only exportUsers writes are ignored. At most 10,000 rows.',
  })
  @IsString()
  csv!: string;
}

@ArgsType()
export class ExportUsersArgs {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field(() => PrincipalKind, { nullable: true, description: 'Only members of this kind.' })
  @IsOptional()
  kind?: PrincipalKind | null;
}
