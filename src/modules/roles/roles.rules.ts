import { isInCallersOrg } from '../../core/permissions/rules';

export const roleRules = {
  Role: isInCallersOrg,
};
