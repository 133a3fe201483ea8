import { Field, ID, InterfaceType } from 'type-graphql';

/** The GraphQL type name a `node(id)` result was found as. */
export const NODE_TYPE = Symbol('nodeType');

export type TypedNode = { id: string; [NODE_TYPE]: string };

@InterfaceType('Node', {
  description: 'An object with a globally unique id, fetchable with `node(id)`.',
  resolveType: (value: TypedNode) => value[NODE_TYPE],
})
export abstract class NodeInterface {
  @Field(() => ID)
  id!: string;
}
