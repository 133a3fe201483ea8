/**
 * PostGraphile 4 needs graphql 15, and npm installed two copies of it (under postgraphile/ and
 * graphile-build-pg/) beside the gateway's graphql 16 at the top, so its packages would mix
 * realms ("Cannot use GraphQLObjectType from another module or realm"). This process serves only
 * PostGraphile, so every `graphql` it loads is resolved to the one copy under postgraphile/.
 * Imported before postgraphile.
 */
import Module from 'node:module';
import path from 'node:path';

const GRAPHQL_15 = path.dirname(
  require.resolve('graphql/package.json', { paths: [path.dirname(require.resolve('postgraphile/package.json'))] }),
);

type Resolve = (request: string, ...rest: unknown[]) => string;
const moduleWithResolver = Module as unknown as { _resolveFilename: Resolve };
const resolve = moduleWithResolver._resolveFilename;
moduleWithResolver._resolveFilename = function (request: string, ...rest: unknown[]) {
  if (request === 'graphql' || request.startsWith('graphql/')) {
    return resolve.call(this, GRAPHQL_15 + request.slice('graphql'.length), ...rest);
  }
  return resolve.call(this, request, ...rest);
};
