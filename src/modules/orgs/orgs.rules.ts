import { isInCallersOrg } from '../../core/permissions/rules';

export const orgRules = {
  Org: isInCallersOrg,
};
