import { or } from 'graphql-shield';
import { isOwnedBySelf, isSuperUser } from '../../core/permissions/rules';

export const memberRules = {
  Membership: or(isOwnedBySelf, isSuperUser),
};
