import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../core/graphql/connection-type';
import { NodeInterface } from '../nodes/node.type';
import { UserType } from '../users/user.type';

export enum ApiKeyStatus {
  ACTIVE = 'ACTIVE',
  ROTATING = 'ROTATING',
  REVOKED = 'REVOKED',
  EXPIRED = 'EXPIRED',
}

registerEnumType(ApiKeyStatus, {
  name: 'ApiKeyStatus',
  description: 'ROTATING keys work until their grace period ends; EXPIRED covers both ends of life.',
});

@ObjectType('ApiKey', { implements: NodeInterface, description: 'A JWT API key; the token itself is never stored.' })
export class ApiKeyType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'A short, recognisable label for the key (pk_ and the start of its id).' })
  prefix!: string;

  @Field(() => [String])
  scopes!: string[];

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'For a ROTATING key: when it stops working.' })
  graceEndsAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Updated at most once a minute.' })
  lastUsedAt!: Date | null;

  @Field(() => String, { nullable: true })
  lastUsedIp!: string | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  orgId!: string;
  ownerId!: string;
  rotatedFromId!: string | null;
  createdById!: string | null;
}

@ObjectType('IssuedApiKey', { description: 'A new key and its token, shown this once.' })
export class IssuedApiKeyType {
  @Field(() => ApiKeyType)
  apiKey!: ApiKeyType;

  @Field({ description: 'Send as `Authorization: Bearer …`. It cannot be retrieved again.' })
  token!: string;
}

export const ApiKeyConnection = connectionType('ApiKey', () => ApiKeyType, 'API keys, newest first.');

export const ServiceAccountConnection = connectionType(
  'ServiceAccount',
  () => UserType,
  "An org's service accounts, by name.",
);
