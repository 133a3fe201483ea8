import {
  defaultFieldResolver,
  isIntrospectionType,
  isObjectType,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import type { GraphQLContext } from '../context/context';

type Args = Record<string, unknown>;
export type FieldResolver = GraphQLFieldResolver<unknown, GraphQLContext, Args>;

/** One layer around a field's resolver: it decides whether and how to call `resolve`. */
export type FieldLayer = (
  resolve: FieldResolver,
  parent: unknown,
  args: Args,
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
) => unknown;

/** The layers a field gets, outermost first; none leaves its resolver as it is. */
export type LayersOf = (type: GraphQLObjectType, field: GraphQLField<unknown, unknown>) => FieldLayer[];

/**
 * Wraps each field of each object type in the layers chosen for it when the schema is built, in
 * place. Unlike graphql-middleware, which wraps every field in every layer (each one an async
 * function that only finds at run time that it has nothing to do), a field that needs no layer —
 * most of them: leaves and fields whose rule is `allow` — keeps its own resolver, so a hundred-row
 * page does not pay for a promise per layer per cell.
 */
export function applyFieldLayers(schema: GraphQLSchema, layersOf: LayersOf): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const layers = layersOf(type, field as GraphQLField<unknown, unknown>);
      if (layers.length === 0) continue;
      const own = (field.resolve ?? defaultFieldResolver) as FieldResolver;
      field.resolve = layers.reduceRight<FieldResolver>(
        (inner, layer) => (parent, args, ctx, info) => layer(inner, parent, args, ctx, info),
        own,
      ) as typeof field.resolve;
    }
  }
  return schema;
}
