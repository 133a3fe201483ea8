import { Field, ID, ObjectType } from 'type-graphql';
import { connectionType } from '../../core/graphql/connection-type';
import { UserType } from '../users/user.type';

@ObjectType('AuthPayload', { description: 'Credentials issued by login, refreshSession or acceptInvitation.' })
export class AuthPayloadType {
  @Field({ description: 'A short-lived JWT; send it as `Authorization: Bearer …`.' })
  accessToken!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'Opaque and single-use: refreshSession spends it and returns its successor. Null when login or acceptInvitation set it as the portcullis_refresh cookie instead (REFRESH_TOKEN_TRANSPORT=cookie).',
  })
  refreshToken!: string | null;

  @Field({ description: 'When the access token expires.' })
  expiresAt!: Date;

  @Field(() => UserType)
  user!: UserType;
}

@ObjectType('Session', { description: 'A signed-in device of the caller.' })
export class SessionType {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  ipAddress!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field()
  createdAt!: Date;

  @Field()
  lastRefreshedAt!: Date;

  @Field()
  expiresAt!: Date;

  orgId!: string | null;
}

export const SessionConnection = connectionType(
  'Session',
  () => SessionType,
  "The caller's active sessions, newest first.",
);
