import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * At most one pending email invitation per org and address (compared as lower(email), as every
 * look-up compares them). `invite` serialises itself per address; this index is the backstop, so no
 * code path or hand-written SQL can leave two live invitations where revoking one leaves the other
 * usable. Duplicates left by the earlier race are revoked first, keeping the newest of each, so the
 * index can be built; that revocation is not undone by down(), which only drops the index.
 */
export class InvitationsPendingEmailUnique1795852800000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE invitations SET status = 'REVOKED', revoked_at = now(), updated_at = now()
       WHERE id IN (
         SELECT id FROM (
           SELECT id, row_number() OVER (PARTITION BY org_id, lower(email) ORDER BY created_at DESC, id DESC) AS newness
             FROM invitations WHERE kind = 'EMAIL' AND status = 'PENDING'
         ) ranked
          WHERE newness > 1
       );
      CREATE UNIQUE INDEX invitations_pending_email_key ON invitations (org_id, lower(email))
        WHERE kind = 'EMAIL' AND status = 'PENDING';
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX invitations_pending_email_key`);
  }
}
