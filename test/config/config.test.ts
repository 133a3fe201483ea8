import { ConfigError, loadConfig } from '../../src/core/config/config';
import { gatewayEnv, runScript } from '../support/spawn-gateway';

const VALID_SECRET_KEY = 'a-secret-key-of-at-least-32-characters';

/** The ConfigError loadConfig throws for env; fails the test when it does not throw one. */
function configErrorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** The message's problem lines that name the variable, e.g. `  - PORT: ...`. */
function problemLines(error: ConfigError, variable: string): string[] {
  return error.message.split('\n').filter((line) => line.startsWith(`  - ${variable}: `));
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.dataDir).toBe('./.data');
    expect(config.database.url).toBeUndefined();
    expect(config.secretKey).toBeUndefined();
    expect(config.auth.accessTokenTtl).toBe(15 * 60);
    expect(config.auth.refreshTokenTtl).toBe(30 * 24 * 3600);
    expect(config.publicUrl).toBe('http://localhost:4000');
  });

  it.each([
    ['90s', 90],
    ['900', 900],
    ['15m', 900],
    ['2h', 7200],
    ['30d', 2_592_000],
  ])('reads the duration %s as %i seconds', (value, seconds) => {
    const config = loadConfig({ ACCESS_TOKEN_TTL: value, REFRESH_TOKEN_TTL: value });
    expect(config.auth.accessTokenTtl).toBe(seconds);
    expect(config.auth.refreshTokenTtl).toBe(seconds);
  });

  it('accepts PostgreSQL with a long enough SECRET_KEY', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://app@db.internal:5432/portcullis',
      SECRET_KEY: VALID_SECRET_KEY,
    });
    expect(config.database.url).toBe('postgres://app@db.internal:5432/portcullis');
    expect(config.secretKey).toBe(VALID_SECRET_KEY);
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig({
      PORT: '',
      DATA_DIR: '',
      DATABASE_URL: '',
      SECRET_KEY: '',
      ACCESS_TOKEN_TTL: '',
      BOOTSTRAP_EMAIL: '',
    });
    expect(config.port).toBe(4000);
    expect(config.dataDir).toBe('./.data');
    expect(config.database.url).toBeUndefined();
    expect(config.secretKey).toBeUndefined();
    expect(config.auth.accessTokenTtl).toBe(900);
    expect(config.bootstrap.email).toBe('owner@portcullis.local');
  });

  describe('rejects, with a readable line naming the variable,', () => {
    it.each<[string, Record<string, string>, string, RegExp]>([
      ['a PORT that is not a number', { PORT: 'abc' }, 'PORT', /number/],
      [
        'a DATABASE_URL that is not PostgreSQL',
        { DATABASE_URL: 'mysql://x', SECRET_KEY: VALID_SECRET_KEY },
        'DATABASE_URL',
        /postgres:\/\//,
      ],
      [
        'DATABASE_URL without SECRET_KEY',
        { DATABASE_URL: 'postgres://db/portcullis' },
        'SECRET_KEY',
        /required when DATABASE_URL/,
      ],
      ['a SECRET_KEY shorter than 32 characters', { SECRET_KEY: 'too-short' }, 'SECRET_KEY', /at least 32 characters/],
      ['an ACCESS_TOKEN_TTL that is not a duration', { ACCESS_TOKEN_TTL: 'soon' }, 'ACCESS_TOKEN_TTL', /duration/],
      ['a BOOTSTRAP_EMAIL that is not an email', { BOOTSTRAP_EMAIL: 'not-an-email' }, 'BOOTSTRAP_EMAIL', /email/i],
      ['a TRUST_PROXY that is not a hop count', { TRUST_PROXY: 'yes' }, 'TRUST_PROXY', /number/],
      ['a negative TRUST_PROXY', { TRUST_PROXY: '-1' }, 'TRUST_PROXY', />=0/],
      [
        'a rate limit without a window',
        { RATE_LIMIT_RESET_REQUEST_PER_EMAIL: '3' },
        'RATE_LIMIT_RESET_REQUEST_PER_EMAIL',
        /attempts per duration/,
      ],
      [
        'a rate limit of zero attempts',
        { RATE_LIMIT_LOGIN_PER_IP: '0/15m' },
        'RATE_LIMIT_LOGIN_PER_IP',
        /attempts per duration/,
      ],
    ])('%s', (_case, env, variable, explanation) => {
      const error = configErrorFor(env);
      expect(error.message.startsWith('Invalid configuration:\n')).toBe(true);
      const lines = problemLines(error, variable);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(explanation);
      expect(error.problems).toHaveLength(1);
    });
  });

  it('reads TRUST_PROXY as a number of hops, and the former true/false as 1/0', () => {
    expect(loadConfig({}).trustProxy).toBe(0);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'FALSE' }).trustProxy).toBe(0);
  });

  it('reads abuse limits as attempts per duration, with the documented defaults', () => {
    const { rateLimits } = loadConfig({ RATE_LIMIT_INVITATION_MAIL_PER_EMAIL: '7 / 2h' });
    expect(rateLimits.invitationMailPerEmail).toEqual({ points: 7, durationSeconds: 7200 });
    expect(rateLimits.resetRequestPerEmail).toEqual({ points: 3, durationSeconds: 3600 });
    expect(rateLimits.loginPerAccountAndIp).toEqual({ points: 10, durationSeconds: 900, blockSeconds: 900 });
    expect(rateLimits.loginSlowdownPerAccount).toEqual({ points: 100, durationSeconds: 900, delaySeconds: 2 });
  });

  it('lists every problem at once', () => {
    const error = configErrorFor({ PORT: 'abc', ACCESS_TOKEN_TTL: 'soon', BOOTSTRAP_EMAIL: 'not-an-email' });
    for (const variable of ['PORT', 'ACCESS_TOKEN_TTL', 'BOOTSTRAP_EMAIL']) {
      expect(problemLines(error, variable)).toHaveLength(1);
    }
    expect(error.problems).toHaveLength(3);
  });

  it('lists a missing SECRET_KEY alongside a malformed variable', () => {
    const error = configErrorFor({ PORT: 'abc', DATABASE_URL: 'postgres://db/portcullis' });
    expect(problemLines(error, 'PORT')).toHaveLength(1);
    expect(problemLines(error, 'SECRET_KEY')).toHaveLength(1);
  });
});

describe('mail transport', () => {
  const SMTP_URL = 'smtp://mail.internal:587';

  it('sends through SMTP when SMTP_URL is set, and writes to the outbox otherwise', () => {
    expect(loadConfig({ SMTP_URL }).mail).toEqual({
      transport: 'smtp',
      smtpUrl: SMTP_URL,
      from: 'Portcullis <no-reply@portcullis.local>',
    });
    expect(loadConfig({}).mail.transport).toBe('outbox');
  });

  it('writes to the outbox when MAIL_TRANSPORT=outbox, even with SMTP_URL set', () => {
    expect(loadConfig({ SMTP_URL, MAIL_TRANSPORT: 'outbox', MAIL_FROM: 'Ops <ops@example.com>' }).mail).toEqual({
      transport: 'outbox',
      from: 'Ops <ops@example.com>',
    });
  });

  it('refuses MAIL_TRANSPORT=smtp without SMTP_URL', () => {
    const error = configErrorFor({ MAIL_TRANSPORT: 'smtp' });
    expect(problemLines(error, 'SMTP_URL')).toEqual(['  - SMTP_URL: is required with MAIL_TRANSPORT=smtp']);
    expect(error.problems).toHaveLength(1);
  });

  it('refuses production without SMTP_URL, naming SMTP_URL and MAIL_TRANSPORT=outbox as the way out', () => {
    const error = configErrorFor({ NODE_ENV: 'production' });
    const lines = problemLines(error, 'SMTP_URL');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/required in production/);
    expect(lines[0]).toContain('MAIL_TRANSPORT=outbox');
    expect(error.problems).toHaveLength(1);
  });

  it('accepts production with SMTP_URL, or with MAIL_TRANSPORT=outbox chosen explicitly', () => {
    expect(loadConfig({ NODE_ENV: 'production', SMTP_URL }).mail.transport).toBe('smtp');
    expect(loadConfig({ NODE_ENV: 'production', MAIL_TRANSPORT: 'outbox' }).mail.transport).toBe('outbox');
  });
});

describe('browsers, account pages and links', () => {
  it('links emails to PUBLIC_URL unless ACCOUNT_LINKS_BASE_URL is set, keeping a base path', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.com/' }).accountLinksBaseUrl).toBe('https://id.example.com');
    expect(loadConfig({ ACCOUNT_LINKS_BASE_URL: 'https://app.example.com/account/' }).accountLinksBaseUrl).toBe(
      'https://app.example.com/account',
    );
  });

  it('refuses an ACCOUNT_LINKS_BASE_URL with a query string, which would swallow ?token=', () => {
    const error = configErrorFor({ ACCOUNT_LINKS_BASE_URL: 'https://app.example.com/account?tenant=x' });
    expect(problemLines(error, 'ACCOUNT_LINKS_BASE_URL')).toHaveLength(1);
  });

  it('reads CORS_ORIGINS as exact origins, allowing none by default', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(
      loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000,https://app.example.com' })
        .corsOrigins,
    ).toEqual(['https://app.example.com', 'http://localhost:3000']);
  });

  it.each([
    ['*', undefined],
    ['https://app.example.com/', 'https://app.example.com'],
    ['https://app.example.com/path', 'https://app.example.com'],
    ['https://App.Example.com', 'https://app.example.com'],
    ['https://app.example.com:443', 'https://app.example.com'],
    ['null', undefined],
    ['ftp://files.example.com', undefined],
  ])('refuses the origin %s, suggesting the exact one where there is one', (origin, suggestion) => {
    const [line] = problemLines(configErrorFor({ CORS_ORIGINS: origin }), 'CORS_ORIGINS');
    expect(line).toContain('is not an exact origin');
    if (suggestion) expect(line).toContain(`did you mean ${suggestion}?`);
    else expect(line).not.toContain('did you mean');
  });

  it('keeps cookies Secure except for a loopback http PUBLIC_URL, and always with SameSite=None', () => {
    expect(loadConfig({}).cookies).toEqual({ refreshTokenTransport: 'body', sameSite: 'lax', secure: false });
    expect(loadConfig({ PUBLIC_URL: 'http://id.internal:4000' }).cookies.secure).toBe(true);
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.com' }).cookies.secure).toBe(true);
    const none = loadConfig({
      PUBLIC_URL: 'https://id.example.com',
      REFRESH_TOKEN_TRANSPORT: 'cookie',
      COOKIE_SAMESITE: 'none',
    });
    expect(none.cookies).toEqual({ refreshTokenTransport: 'cookie', sameSite: 'none', secure: true });
  });

  it('refuses COOKIE_SAMESITE=none for cookie sessions without an https PUBLIC_URL', () => {
    const error = configErrorFor({ REFRESH_TOKEN_TRANSPORT: 'both', COOKIE_SAMESITE: 'none' });
    expect(problemLines(error, 'COOKIE_SAMESITE')).toHaveLength(1);
    expect(problemLines(configErrorFor({ REFRESH_TOKEN_TRANSPORT: 'jar' }), 'REFRESH_TOKEN_TRANSPORT')).toHaveLength(1);
  });

  it('turns GraphiQL and introspection off in production unless asked for, and reads only true or false', () => {
    const production = { NODE_ENV: 'production', MAIL_TRANSPORT: 'outbox' };
    expect(loadConfig({})).toMatchObject({ graphiql: true, introspection: true });
    expect(loadConfig(production)).toMatchObject({ graphiql: false, introspection: false });
    expect(loadConfig({ ...production, GRAPHIQL: 'true' })).toMatchObject({ graphiql: true, introspection: false });
    expect(loadConfig({ GRAPHIQL: 'false', INTROSPECTION: 'false' })).toMatchObject({
      graphiql: false,
      introspection: false,
    });
    expect(problemLines(configErrorFor({ GRAPHIQL: 'yes' }), 'GRAPHIQL')).toHaveLength(1);
  });

  it('checks the brand colour and the logo file type', () => {
    expect(loadConfig({ BRAND_COLOR: '#36c', BRAND_NAME: 'Acme ID' }).brand).toEqual({
      name: 'Acme ID',
      color: '#36c',
      logoFile: undefined,
    });
    expect(problemLines(configErrorFor({ BRAND_COLOR: 'red;}body{' }), 'BRAND_COLOR')).toHaveLength(1);
    expect(problemLines(configErrorFor({ BRAND_LOGO_FILE: '/etc/passwd' }), 'BRAND_LOGO_FILE')).toHaveLength(1);
  });
});

describe('bootstrap settings', () => {
  it('accepts BOOTSTRAP_PASSWORD alone: the owner then gets the default email and org', () => {
    const config = loadConfig({ BOOTSTRAP_PASSWORD: 'a long enough bootstrap password' });
    expect(config.bootstrap).toEqual({
      email: 'owner@portcullis.local',
      password: 'a long enough bootstrap password',
      orgName: 'Default',
    });
  });
});

describe('the gateway process with an invalid configuration', () => {
  it('exits with code 1 and prints the problems without a stack trace', async () => {
    const exit = await runScript('src/main.ts', [], gatewayEnv({ PORT: 'abc' }));
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain('Invalid configuration');
    expect(exit.stderr).toMatch(/^ {2}- PORT: /m);
    expect(exit.stderr).not.toContain('    at ');
  });

  it('refuses to start in production without SMTP_URL, saying how to choose the outbox instead', async () => {
    const exit = await runScript('src/main.ts', [], gatewayEnv({ NODE_ENV: 'production', SMTP_URL: '' }));
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/^ {2}- SMTP_URL: is required in production; set MAIL_TRANSPORT=outbox /m);
  });
});
