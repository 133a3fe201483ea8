import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Built-in admin roles created before the role definitions were deduplicated hold `members:read`
 * twice, and the API listed it twice. Each role's permissions become distinct, sorted as
 * createRole stores them. A data repair: down() has nothing to restore (the duplicates meant nothing).
 */
export class RolePermissionsDistinct1796284800000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE roles
         SET permissions = ARRAY(SELECT DISTINCT permission FROM unnest(permissions) AS permission ORDER BY 1)
       WHERE cardinality(permissions) <> (SELECT count(DISTINCT permission) FROM unnest(permissions) AS permission)
    `);
  }

  async down(): Promise<void> {
    // Nothing to undo: distinct permissions mean exactly what the duplicated lists meant.
  }
}
