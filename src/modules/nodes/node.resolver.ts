import { IdArgs } from '../../core/graphql/id-args';
import { Args, Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../core/context/context';

import { loadNode } from './node-lookup';
import { NODE_TYPE, NodeInterface } from './node.type';

@Resolver()
export class NodeResolver {
  @Query(() => NodeInterface, { nullable: true, description: 'Any object by its id.' })
  async node(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    const type = await ctx.loaders.nodeTypeById.load(id);
    const node = type && (await loadNode(ctx.loaders, type, id));
    return node ? { ...node, [NODE_TYPE]: type } : null;
  }
}
