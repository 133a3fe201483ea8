import { isSuperUser } from '../../core/permissions/rules';

export const signingKeyRules = {
  Mutation: { rotateSigningKey: isSuperUser },
  SigningKey: isSuperUser,
};
