import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { JWK } from 'jose';

export enum SigningKeyStatus {
  ACTIVE = 'ACTIVE',
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

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;
}
