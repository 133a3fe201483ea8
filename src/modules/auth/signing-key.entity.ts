import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { JWK } from 'jose';

/** ACTIVE signs; NEXT is published ahead of signing; RETIRED signs no more (see signing-keys.service.ts). */
export enum SigningKeyStatus {
  ACTIVE = 'ACTIVE',
  NEXT = 'NEXT',
  RETIRED = 'RETIRED',
}

@Entity({ name: 'signing_keys' })
export class SigningKeyEntity {
  /** The JWT `kid`. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  algorithm!: string;

  @Column({ name: 'public_jwk', type: 'jsonb' })
  publicJwk!: JWK;

  /** The private JWK sealed with SECRET_KEY (compact JWE). */
  @Column({ name: 'private_jwk_sealed', type: 'text', select: false })
  privateJwkSealed?: string;

  @Column({ type: 'text', default: SigningKeyStatus.ACTIVE })
  status!: SigningKeyStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** When a NEXT key starts signing; set when it was created, at least the publication lead ahead. */
  @Column({ name: 'activates_at', type: 'timestamptz', nullable: true })
  activatesAt!: Date | null;

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;

  /**
   * When the key left the JWKS: nothing it signed verifies as a token any more. The row stays, so
   * audit checkpoints it signed still verify.
   */
  @Column({ name: 'unpublished_at', type: 'timestamptz', nullable: true })
  unpublishedAt!: Date | null;
}
