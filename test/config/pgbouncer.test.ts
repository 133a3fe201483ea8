import { loadConfig } from '../../src/core/config/config';
import { configProblems as problems } from '../support/config-problems';

const POOLED = {
  DATABASE_URL: 'postgres://portcullis@pgbouncer.internal:6432/portcullis',
  SECRET_KEY: 'a-secret-key-of-at-least-32-characters',
};

describe('DATABASE_DIRECT_URL', () => {
  it('is unset by default: DATABASE_URL is then taken for a direct connection or a session pool', () => {
    expect(loadConfig(POOLED).databaseDirectUrl).toBeUndefined();
  });

  it('reads a postgres:// or postgresql:// URL beside DATABASE_URL', () => {
    const direct = 'postgres://portcullis@db-primary.internal:5432/portcullis';
    expect(loadConfig({ ...POOLED, DATABASE_DIRECT_URL: direct }).databaseDirectUrl).toBe(direct);
    expect(
      loadConfig({ ...POOLED, DATABASE_DIRECT_URL: 'postgresql://db-primary.internal/portcullis' }).databaseDirectUrl,
    ).toBe('postgresql://db-primary.internal/portcullis');
  });

  it('treats a blank value as unset', () => {
    expect(loadConfig({ ...POOLED, DATABASE_DIRECT_URL: '  ' }).databaseDirectUrl).toBeUndefined();
  });

  it('refuses another kind of URL', () => {
    expect(problems({ ...POOLED, DATABASE_DIRECT_URL: 'mysql://db-primary.internal/portcullis' })).toEqual([
      'DATABASE_DIRECT_URL: must be a postgres:// URL',
    ]);
  });

  it('needs DATABASE_URL: the embedded database has no pooler in front of it', () => {
    expect(problems({ DATABASE_DIRECT_URL: 'postgres://db-primary.internal/portcullis' })).toEqual([
      'DATABASE_DIRECT_URL: needs DATABASE_URL: it is the direct way to the server DATABASE_URL reaches through a pooler',
    ]);
  });
});
