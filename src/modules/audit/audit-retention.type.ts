import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType('AuditCheckpoint', {
  description: "Where pruning cut an org's audit chain; the remaining records verify from here.",
})
export class AuditCheckpointType {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'The seq of the last removed record (a bigint, as text).' })
  throughSeq!: string;

  @Field({ description: 'The hash of the last removed record: the first remaining one names it as prev_hash.' })
  lastHash!: string;

  @Field(() => Int)
  removedCount!: number;

  @Field({
    description:
      "A compact JWS (ES256, the gateway's signing key) over orgId, throughSeq, lastHash, removedCount and createdAt.",
  })
  signature!: string;

  @Field({ description: 'UTC, ISO 8601: the text the signature covers.' })
  createdAt!: string;
}

@ObjectType('AuditPruneResult')
export class AuditPruneResultType {
  @Field(() => Int)
  removed!: number;

  @Field(() => AuditCheckpointType, { nullable: true, description: 'Null when nothing was removed.' })
  checkpoint!: AuditCheckpointType | null;
}
