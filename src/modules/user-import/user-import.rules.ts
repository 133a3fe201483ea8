import { allow } from 'graphql-shield';
import { hasPermission, orgFromArg } from '../../core/permissions/rules';

/**
 * Importing needs `members:invite`; what each line may grant (its role, its groups' roles) and
 * whom it may change (rank) is checked line by line in the service, so one line's refusal does
 * not fail the others.
 */
export const userImportRules = {
  Query: { exportUsers: hasPermission('members:read', orgFromArg('orgId')) },
  Mutation: { importUsers: hasPermission('members:invite', orgFromArg('orgId')) },
  ImportUsersResult: allow,
  ImportFailure: allow,
  ImportLineResult: allow,
};
