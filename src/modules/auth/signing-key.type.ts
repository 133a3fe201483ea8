import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { SigningKeyStatus } from './signing-key.entity';

registerEnumType(SigningKeyStatus, {
  name: 'SigningKeyStatus',
  description: 'ACTIVE signs; NEXT is published and signs from activatesAt; RETIRED signs no more.',
});

@ObjectType('SigningKey', { description: 'A token-signing key. Its private half never leaves the gateway.' })
export class SigningKeyType {
  @Field(() => ID, { description: 'The `kid` in the JWKS and in the headers of the tokens it signs.' })
  id!: string;

  @Field()
  algorithm!: string;

  @Field(() => SigningKeyStatus)
  status!: SigningKeyStatus;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When a NEXT key starts signing.' })
  activatesAt!: Date | null;

  @Field(() => Date, { nullable: true })
  retiredAt!: Date | null;
}
