import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'orgs' })
export class OrgEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  slug!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Audit records older than this many days may be pruned; null keeps them forever. */
  @Column({ name: 'audit_retention_days', type: 'integer', nullable: true })
  auditRetentionDays!: number | null;

  /** Members whose email address is unverified get nothing from their membership here. */
  @Column({ name: 'require_verified_email', type: 'boolean', default: false })
  requireVerifiedEmail!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
