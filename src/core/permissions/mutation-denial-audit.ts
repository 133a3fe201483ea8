import type { GraphQLResolveInfo } from 'graphql';
import type { EntityManager } from 'typeorm';
import { recordAudit } from '../audit/audit';
import { auditActorOf, type GraphQLContext } from '../context/context';
import { AppError } from '../errors/app-error';
import type { FieldLayer } from '../graphql/field-layers';
import type { PublicCode } from '../errors/error-codes';
import { isId } from '../ids';

/** The codes a permission rule answers when it refuses; anything else (bad input, a crash) is not a denial. */
const DENIAL_CODES: ReadonlySet<PublicCode> = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND']);

/**
 * The root Mutation fields whose resolver was entered, by their `info.path` (one object per field
 * execution, handed unchanged through every middleware layer). An error from such a field came from
 * the resolver after the rules allowed it; an error from any other field came from a rule.
 */
const resolverEntered = new WeakSet<GraphQLResolveInfo['path']>();

/**
 * Wraps the permission layers of a root mutation (the credential gate, then the shield) so that a
 * refusal by any of them leaves an `authz.denied` audit record. Each answers a refusal as an error
 * value (graphql-shield: fallbackError for `false`, or the rule's own error), while errors thrown
 * by a rule or a resolver (a database outage, a bug) pass through as thrown, and are no denial. An
 * error value can still come from a resolver, so a marker inside the innermost layer notes the
 * resolver being reached. Returns the mutation's layers, outermost first.
 */
export function withMutationDenialAudit(guards: FieldLayer[]): FieldLayer[] {
  const recordDenials: FieldLayer = async (resolve, parent, args, ctx, info) => {
    // Refusals come back as values; what the guards throw is not a refusal and passes through.
    const outcome: unknown = await resolve(parent, args, ctx, info);
    if (isDenial(outcome) && !resolverEntered.has(info.path)) await recordDenial(ctx, info.fieldName, args, outcome);
    return outcome;
  };
  const markResolverEntered: FieldLayer = (resolve, parent, args, ctx, info) => {
    resolverEntered.add(info.path);
    return resolve(parent, args, ctx, info);
  };
  return [recordDenials, ...guards, markResolverEntered];
}

function isDenial(outcome: unknown): outcome is AppError {
  return outcome instanceof AppError && DENIAL_CODES.has(outcome.publicCode);
}

/**
 * One record in its own transaction: the refused mutation wrote nothing to join. It names the
 * mutation and the reason, never the arguments, which may hold passwords or tokens. A failure
 * to record is logged and swallowed: the caller is owed the refusal, not an audit error.
 */
async function recordDenial(
  ctx: GraphQLContext,
  mutation: string,
  args: Record<string, unknown>,
  denial: AppError,
): Promise<void> {
  try {
    await ctx.db.transaction(async (tx) => {
      const orgId = await existingOrg(tx, orgNamedBy(args));
      await recordAudit(tx, auditActorOf(ctx), {
        action: 'authz.denied',
        orgId,
        targetType: 'Mutation',
        targetId: mutation,
        changes: { reason: denial.key, code: denial.publicCode },
      });
    });
  } catch (error) {
    ctx.services.logger.error({ err: error, mutation }, 'could not record an authorization denial');
  }
}

/** `orgId` or `input.orgId`, when it is an id at all. */
function orgNamedBy(args: Record<string, unknown>): string | null {
  const input = args.input as { orgId?: unknown } | undefined;
  const named = args.orgId ?? input?.orgId;
  return isId(named) ? named : null;
}

/**
 * The audit chain is per org: a denial may only join the chain of an org that exists. The key-share
 * lock waits for a deletion of the org under way, so no record lands after a deleted org's seal.
 */
async function existingOrg(tx: EntityManager, orgId: string | null): Promise<string | null> {
  if (orgId === null) return null;
  const rows: unknown[] = await tx.query('SELECT 1 FROM orgs WHERE id = $1 FOR KEY SHARE', [orgId]);
  return rows.length > 0 ? orgId : null;
}
