import { allow, chain, rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { isPermission } from '../../core/permissions/permissions';
import {
  grantsOnlyHeldPermissions,
  hasPermission,
  orgFromArg,
  orgOfParent,
  parentOrg,
  type OrgLocator,
} from '../../core/permissions/rules';

/** The org of the client named by `id`; null when there is no such client. */
const orgOfClientArg: OrgLocator = async (_parent, args: { id?: unknown }, ctx) =>
  isId(args.id) ? ((await ctx.loaders.oauthClientById.load(args.id))?.orgId ?? null) : null;

/** Writing needs clients:write in the client's org; a client the caller cannot see answers NOT_FOUND. */
const canWriteClient = hasPermission('clients:write', orgOfClientArg, 'oauth_client.not_found');

/**
 * A new secret, or new redirect URIs, hand their holder whatever the client may request: the caller
 * must hold every permission scope the client has, as for rotating a service account's API key.
 */
const holdsClientScopes = rule({ cache: 'no_cache' })(async (_parent, args: { id: string }, ctx: GraphQLContext) => {
  const client = isId(args.id) ? await ctx.loaders.oauthClientById.load(args.id) : null;
  if (!client) return new AppError('oauth_client.not_found');
  const held = await ctx.access.permissions(client.orgId);
  return client.scopes.filter(isPermission).every((scope) => held.has(scope)) || new AppError('role.escalation');
});

export const oauthClientRules = {
  Mutation: {
    createOAuthClient: chain(
      hasPermission('clients:write', orgFromArg('input', 'orgId')),
      grantsOnlyHeldPermissions((args) => args.input.scopes, orgFromArg('input', 'orgId')),
    ),
    // Redirect URIs are where a public client's codes go: whoever changes a client must hold its scopes.
    updateOAuthClient: chain(
      canWriteClient,
      grantsOnlyHeldPermissions((args) => args.input.scopes, orgOfClientArg),
      holdsClientScopes,
    ),
    deleteOAuthClient: canWriteClient,
    rotateOAuthClientSecret: chain(canWriteClient, holdsClientScopes),
  },
  Org: {
    oauthClients: hasPermission('clients:read', parentOrg),
  },
  OAuthClient: hasPermission('clients:read', orgOfParent, 'oauth_client.not_found'),
  IssuedOAuthClient: allow,
};
