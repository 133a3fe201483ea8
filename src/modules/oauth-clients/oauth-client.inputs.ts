import { ArrayMaxSize, ArrayMinSize, IsIn, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { NotBlank } from '../../core/graphql/text-rules';
import { PERMISSIONS } from '../../core/permissions/permissions';
import { OAuthClientKind, OAuthGrantType } from './oauth-client.entity';

/** What a client may ask of a user besides permissions: the OpenID Connect scopes. */
export const OPENID_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

const CLIENT_SCOPES: readonly string[] = [...OPENID_SCOPES, ...PERMISSIONS];
const SCOPE_RULE = { each: true, message: `each scope must be one of: ${CLIENT_SCOPES.join(', ')}` };

const MAX_REDIRECT_URIS = 10;
const MAX_URI_LENGTH = 2000;

@InputType('CreateOAuthClientInput')
export class CreateOAuthClientInput {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field()
  @IsString()
  @Length(1, 100)
  @NotBlank()
  name!: string;

  @Field(() => OAuthClientKind)
  type!: OAuthClientKind;

  @Field(() => [String], { description: 'Exact URIs: https, http on a loopback host, or a private-use scheme.' })
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_REDIRECT_URIS)
  @MaxLength(MAX_URI_LENGTH, { each: true })
  redirectUris!: string[];

  @Field(() => [String], { description: 'OpenID scopes, and permissions the caller holds in the org.' })
  @ArrayMaxSize(CLIENT_SCOPES.length)
  @IsIn(CLIENT_SCOPES, SCOPE_RULE)
  scopes!: string[];

  @Field(() => [OAuthGrantType])
  @ArrayMinSize(1)
  @ArrayMaxSize(Object.keys(OAuthGrantType).length)
  grantTypes!: OAuthGrantType[];
}

@InputType('UpdateOAuthClientInput', { description: 'Fields left out keep their value.' })
export class UpdateOAuthClientInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  @NotBlank()
  name?: string | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_REDIRECT_URIS)
  @MaxLength(MAX_URI_LENGTH, { each: true })
  redirectUris?: string[] | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(CLIENT_SCOPES.length)
  @IsIn(CLIENT_SCOPES, SCOPE_RULE)
  scopes?: string[] | null;

  @Field(() => [OAuthGrantType], { nullable: true })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(Object.keys(OAuthGrantType).length)
  grantTypes?: OAuthGrantType[] | null;
}
