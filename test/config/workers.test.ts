import { loadConfig } from '../../src/core/config/config';
import { configProblems as problems } from '../support/config-problems';

const DATABASE = {
  DATABASE_URL: 'postgres://app@db.internal:5432/portcullis',
  SECRET_KEY: 'a-secret-key-of-at-least-32-characters',
};

describe('WORKERS', () => {
  it('is one process by default, on either database', () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig(DATABASE).workers).toBe(1);
    expect(loadConfig({ WORKERS: '1' }).workers).toBe(1);
  });

  it('takes 2 to 64 workers with DATABASE_URL', () => {
    expect(loadConfig({ ...DATABASE, WORKERS: '2' }).workers).toBe(2);
    expect(loadConfig({ ...DATABASE, WORKERS: '64' }).workers).toBe(64);
  });

  it.each(['0', '65', '2.5', 'four', '-1'])('refuses %s', (value) => {
    expect(problems({ ...DATABASE, WORKERS: value }).some((problem) => problem.startsWith('WORKERS: '))).toBe(true);
  });

  it('refuses more than one worker on the embedded database, saying why', () => {
    expect(problems({ WORKERS: '2' })).toEqual([
      'WORKERS: above 1 requires DATABASE_URL: the embedded database belongs to one process, so several workers need a PostgreSQL server of their own',
    ]);
  });
});
