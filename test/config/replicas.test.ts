import { loadConfig } from '../../src/core/config/config';
import { configProblems as problemsOf } from '../support/config-problems';

const WITH_DATABASE = {
  DATABASE_URL: 'postgres://portcullis@db.example.com/portcullis',
  SECRET_KEY: 'a-secret-key-of-at-least-32-characters',
};

describe('read replica settings', () => {
  it('default to no replicas, a 5 s read-your-writes window and 1 s of allowed lag', () => {
    expect(loadConfig({}).replicas).toEqual({ urls: [], readYourWritesWindow: 5, maxLag: 1 });
  });

  it('read a comma-separated list of postgres:// URLs, trimmed and each once', () => {
    const config = loadConfig({
      ...WITH_DATABASE,
      DATABASE_REPLICA_URLS:
        ' postgres://r@replica-1/portcullis , postgresql://r@replica-2:5433/portcullis,,postgres://r@replica-1/portcullis',
      READ_YOUR_WRITES_WINDOW: '10s',
      REPLICA_MAX_LAG: '3',
    });
    expect(config.replicas).toEqual({
      urls: ['postgres://r@replica-1/portcullis', 'postgresql://r@replica-2:5433/portcullis'],
      readYourWritesWindow: 10,
      maxLag: 3,
    });
  });

  it('refuse an item that is not a postgres:// URL, naming its place but not its text', () => {
    const problems = problemsOf({
      ...WITH_DATABASE,
      DATABASE_REPLICA_URLS: 'postgres://r@replica-1/portcullis,mysql://user:hunter2@replica-2/db',
    });
    expect(problems).toEqual(['DATABASE_REPLICA_URLS: item 2 is not a postgres:// URL']);
  });

  it('refuse replicas without DATABASE_URL: the embedded server has none', () => {
    expect(problemsOf({ DATABASE_REPLICA_URLS: 'postgres://r@replica-1/portcullis' })).toEqual([
      expect.stringMatching(/^DATABASE_REPLICA_URLS: needs DATABASE_URL/),
    ]);
  });

  it.each(['READ_YOUR_WRITES_WINDOW', 'REPLICA_MAX_LAG'])('refuse a %s longer than an hour', (name) => {
    expect(problemsOf({ ...WITH_DATABASE, [name]: '61m' })).toContain(`${name}: must be at most 1h`);
  });

  it('accept an hour of each, the window still the longer', () => {
    expect(loadConfig({ ...WITH_DATABASE, READ_YOUR_WRITES_WINDOW: '1h', REPLICA_MAX_LAG: '59m' }).replicas).toEqual({
      urls: [],
      readYourWritesWindow: 3600,
      maxLag: 3540,
    });
  });

  it.each([
    ['2s', '2s'],
    ['1s', '3s'],
  ])(
    'refuse a READ_YOUR_WRITES_WINDOW of %s with a REPLICA_MAX_LAG of %s: the window must outlast the lag',
    (window, lag) => {
      expect(problemsOf({ ...WITH_DATABASE, READ_YOUR_WRITES_WINDOW: window, REPLICA_MAX_LAG: lag })).toEqual([
        expect.stringMatching(/^READ_YOUR_WRITES_WINDOW: must be longer than REPLICA_MAX_LAG \(\d+s\)/),
      ]);
    },
  );

  it.each(['READ_YOUR_WRITES_WINDOW', 'REPLICA_MAX_LAG'])('refuse a %s that is not a duration', (name) => {
    expect(problemsOf({ ...WITH_DATABASE, [name]: '0' })).toEqual([
      `${name}: must be a duration such as 900, 15m, 12h or 30d`,
    ]);
  });
});
