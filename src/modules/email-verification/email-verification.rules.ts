import { allow } from 'graphql-shield';
import { isSignedInPerson } from '../../core/permissions/rules';

export const emailVerificationRules = {
  Mutation: {
    requestEmailVerification: isSignedInPerson,
    changeEmail: isSignedInPerson,
    // The mailed token is the credential, as for resetPassword.
    verifyEmail: allow,
  },
};
