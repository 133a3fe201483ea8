import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** Stored states; EXPIRED is derived from `expiresAt` (and a rotation's grace end) when read. */
export enum StoredApiKeyStatus {
  ACTIVE = 'ACTIVE',
  ROTATING = 'ROTATING',
  REVOKED = 'REVOKED',
}

/** A key's row holds no secret: only the SHA-256 fingerprint of the token it was issued as. */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  prefix!: string;

  @Column({ type: 'bytea', select: false })
  fingerprint?: Buffer;

  @Column({ type: 'text', array: true })
  scopes!: string[];

  @Column({ type: 'text', default: StoredApiKeyStatus.ACTIVE })
  status!: StoredApiKeyStatus;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'grace_ends_at', type: 'timestamptz', nullable: true })
  graceEndsAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'last_used_ip', type: 'text', nullable: true })
  lastUsedIp!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** The signing key's `kid`: it stays in the JWKS while this key works. Null only if never recorded. */
  @Column({ name: 'signing_kid', type: 'text', nullable: true })
  signingKid!: string | null;

  @Column({ name: 'rotated_from_id', type: 'uuid', nullable: true })
  rotatedFromId!: string | null;

  @Column({ name: 'created_by_id', type: 'uuid', nullable: true })
  createdById!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
