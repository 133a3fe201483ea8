import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { SigningKeyType } from './signing-key.type';

@Resolver()
export class SigningKeysResolver {
  @Mutation(() => SigningKeyType, {
    description:
      'Rotates the token-signing key. By default publishes the next key now (or returns the one already published), which signs after SIGNING_KEY_PUBLICATION_LEAD. `immediate` is for a compromised key: a new key signs at once and every token and API key the old one signed stops verifying.',
  })
  async rotateSigningKey(
    @Arg('immediate', () => Boolean, { nullable: true, defaultValue: false }) immediate: boolean | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const key = await ctx.db.transaction((tx) =>
      ctx.services.signingKeyRotation.rotate(tx, auditActorOf(ctx), immediate === true),
    );
    // This process signs and verifies with the new keys before the answer is sent.
    await ctx.services.signingKeys.refresh();
    return key;
  }
}
