import { type GraphQLContext, type Principal } from '../context/context';
import { AppError } from '../errors/app-error';
import type { FieldLayer } from '../graphql/field-layers';
import { PrincipalKind } from '../../modules/users/user.entity';
import { SESSION_ONLY, type CredentialKind, type CredentialPolicy, type FieldPolicy } from './credential-policy';

function credentialKindOf(principal: Principal | null): CredentialKind {
  if (!principal) return 'anonymous';
  if (principal.credential === 'session') return 'session';
  return principal.kind === PrincipalKind.SERVICE_ACCOUNT ? 'serviceAccountKey' : 'personalKey';
}

/** The policy of a root field; one missing from the table is for sessions only. */
export function fieldPolicy(policy: CredentialPolicy, typeName: string, fieldName: string): FieldPolicy {
  const fields: Record<string, FieldPolicy> | undefined = policy[typeName as keyof CredentialPolicy];
  return (fields && Object.hasOwn(fields, fieldName) ? fields[fieldName] : undefined) ?? SESSION_ONLY;
}

/** Why the caller's credential may not reach this field, or null when it may. */
async function refusal(
  field: FieldPolicy,
  args: Record<string, unknown>,
  ctx: GraphQLContext,
): Promise<AppError | null> {
  const kind = credentialKindOf(ctx.principal);
  const allowance = field[kind];
  if (allowance === true) return null;
  if (kind === 'anonymous' || !ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  if (allowance === false) return new AppError('auth.delegated_not_allowed');
  const target = await allowance.notOnOwner(args, ctx);
  const onOwner = target !== null && target.toLowerCase() === ctx.principal.userId.toLowerCase();
  return onOwner ? new AppError('auth.delegated_not_allowed') : null;
}

/**
 * The credential policy's layer for every root field (Query and Mutation), before the permission
 * rules: a refusal is answered as a value, like the shield's, so the mutation denial audit records
 * it. Runs for each field of a multi-field operation with the principal of that moment (a sign-in
 * earlier in the same operation counts, as it does for the rules).
 */
export function credentialGate(policy: CredentialPolicy): FieldLayer {
  return async (resolve, parent, args, ctx, info) => {
    const refused = await refusal(fieldPolicy(policy, info.parentType.name, info.fieldName), args, ctx);
    return refused ?? resolve(parent, args, ctx, info);
  };
}
