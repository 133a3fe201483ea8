import { Args, Ctx, Mutation, Resolver } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { UserType } from '../users/user.type';
import { LockArgs, UnlockArgs } from './locking.inputs';

@Resolver()
export class LockingResolver {
  @Mutation(() => UserType, { description: 'Locks an account: no sign-in, and its sessions and keys stop working.' })
  async lock(@Args() { userId, reason }: LockArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.locking.lock(tx, auditActorOf(ctx), userId, reason ?? null));
  }

  @Mutation(() => UserType, { description: 'Unlocks an account and forgets its failed sign-ins from every address.' })
  async unlock(@Args() { userId }: UnlockArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.locking.unlock(tx, auditActorOf(ctx), userId));
  }
}
