import { Field, ObjectType } from 'type-graphql';
import { PageInfoType, pageInfoFrom } from '../../core/graphql/connection';
import { UserType } from '../users/user.type';
import type { MemberPage } from './member-list';
import { MembershipType } from './membership.type';

@ObjectType('MembershipEdge')
export class MembershipEdgeType {
  @Field()
  cursor!: string;

  @Field(() => MembershipType)
  node!: MembershipType;
}

@ObjectType('MembershipConnection', { description: "An org's members, one membership per edge." })
export class MembershipConnectionType {
  @Field(() => [MembershipEdgeType])
  edges!: MembershipEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;

  /** Resolves `totalCount` only when a client asks for it. */
  page!: MemberPage;

  static from(page: MemberPage): MembershipConnectionType {
    return Object.assign(new MembershipConnectionType(), {
      page,
      // A MemberEdge has the edge's fields (node, cursor) itself: no copy per row.
      edges: page.edges as unknown as MembershipEdgeType[],
      pageInfo: pageInfoFrom(page),
    });
  }
}

@ObjectType('UserEdge')
export class UserEdgeType {
  @Field()
  cursor!: string;

  @Field(() => MembershipType, { description: "The user's membership in the listed org." })
  membership!: MembershipType;

  /** `node` is the membership's user, loaded in one batch for the page. */
  node?: UserType;
}

@ObjectType('UserConnection', { description: "An org's members as users." })
export class UserConnectionType {
  @Field(() => [UserEdgeType])
  edges!: UserEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;

  page!: MemberPage;

  static from(page: MemberPage): UserConnectionType {
    return Object.assign(new UserConnectionType(), {
      page,
      edges: page.edges as unknown as UserEdgeType[],
      pageInfo: pageInfoFrom(page),
    });
  }
}
