import { or } from 'graphql-shield';
import { isAuthenticated, isSelf, isSuperUser } from '../../core/permissions/rules';

export const userRules = {
  Query: { me: isAuthenticated },
  User: or(isSelf, isSuperUser),
};
