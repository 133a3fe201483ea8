import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../core/graphql/connection-type';
import { OAuthClientKind, OAuthGrantType } from './oauth-client.entity';

registerEnumType(OAuthClientKind, {
  name: 'OAuthClientType',
  description: 'PUBLIC: a browser or native app that cannot keep a secret. CONFIDENTIAL: a server that can.',
});

registerEnumType(OAuthGrantType, {
  name: 'OAuthGrantType',
  description: 'REFRESH_TOKEN needs AUTHORIZATION_CODE; CLIENT_CREDENTIALS needs a CONFIDENTIAL client.',
});

@ObjectType('OAuthClient', { description: 'An OAuth client registered in an org; its secret is never stored.' })
export class OAuthClientType {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'The public identifier the client sends as `client_id`.' })
  clientId!: string;

  @Field()
  name!: string;

  @Field(() => OAuthClientKind)
  type!: OAuthClientKind;

  @Field(() => [String])
  redirectUris!: string[];

  @Field(() => [String], { description: 'OpenID scopes and permissions the client may request.' })
  scopes!: string[];

  @Field(() => [OAuthGrantType])
  grantTypes!: OAuthGrantType[];

  @Field(() => Date, { nullable: true, description: 'When the current secret replaced an earlier one.' })
  secretRotatedAt!: Date | null;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  orgId!: string;
  createdById!: string | null;
}

@ObjectType('IssuedOAuthClient', { description: 'A client and its new secret, shown this once.' })
export class IssuedOAuthClientType {
  @Field(() => OAuthClientType)
  client!: OAuthClientType;

  @Field(() => String, { nullable: true, description: 'It cannot be retrieved again; null for a PUBLIC client.' })
  clientSecret!: string | null;
}

export const OAuthClientConnection = connectionType(
  'OAuthClient',
  () => OAuthClientType,
  "An org's OAuth clients, by name.",
);
