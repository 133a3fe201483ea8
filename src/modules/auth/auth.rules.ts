import { allow } from 'graphql-shield';
import { isAuthenticated, isOwnedBySelf } from '../../core/permissions/rules';

export const authRules = {
  Query: { sessions: isAuthenticated },
  Mutation: {
    // Their credentials are the arguments themselves.
    login: allow,
    refreshSession: allow,
    logout: allow,
    revokeSession: isAuthenticated,
  },
  AuthPayload: allow,
  Session: isOwnedBySelf,
};

export { isOwnedBySelf };
