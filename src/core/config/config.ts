import { z } from 'zod';
import { parseDurationSeconds } from './duration';
import { parseRateLimit, type RateLimit } from './rate';
import {
  areSendableHeaders,
  parseKeyValueList,
  TRACES_SAMPLERS,
  tracesUrl,
  type TracingConfig,
} from '../observability/tracing-settings';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const seconds = parseDurationSeconds(value);
      if (seconds === null) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration such as 900, 15m, 12h or 30d' });
        return z.NEVER;
      }
      return seconds;
    });

const integer = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const rateLimit = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const limit = parseRateLimit(value);
      if (!limit) {
        ctx.addIssue({ code: 'custom', message: 'must be attempts per duration, such as 5/1h or 100/15m' });
        return z.NEVER;
      }
      return limit;
    });

/** A number of proxy hops; the former `true`/`false` still read as 1/0. */
const proxyHops = z.preprocess(
  (value) => (typeof value === 'string' ? ({ true: '1', false: '0' }[value.trim().toLowerCase()] ?? value) : value),
  integer(0, 0, 10),
);

/** `true` or `false`; unset means the default the caller derives (e.g. from NODE_ENV). */
const optionalFlag = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .optional()
  .transform((value) => (value === undefined ? undefined : value === 'true'));

/** An origin as browsers send it: scheme, host and port only, no path, no trailing slash. */
function asOrigin(value: string): string | null {
  if (!URL.canParse(value)) return null;
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.origin === value ? value : null;
}

const originList = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const origins = value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    for (const origin of origins) {
      if (asOrigin(origin) === null) {
        const canonical = URL.canParse(origin) ? new URL(origin).origin : 'null';
        ctx.addIssue({
          code: 'custom',
          message:
            `"${origin}" is not an exact origin such as https://app.example.com or http://localhost:3000 (no path, no wildcard, no trailing slash, lower case, no default port)` +
            (canonical !== 'null' && canonical !== origin ? `; did you mean ${canonical}?` : ''),
        });
        return z.NEVER;
      }
    }
    return [...new Set(origins)];
  });

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value && value.trim() !== '' ? value.trim() : undefined));

/** Comma-separated postgres:// URLs, each once. */
const replicaUrls = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const urls = value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    for (const [index, url] of urls.entries()) {
      if (!URL.canParse(url) || !/^postgres(ql)?:$/.test(new URL(url).protocol)) {
        // The position, not the value: a URL may carry a password.
        ctx.addIssue({ code: 'custom', message: `item ${index + 1} is not a postgres:// URL` });
        return z.NEVER;
      }
    }
    return [...new Set(urls)];
  });

/**
 * `key=value,…` (values percent-encoded), as the OTEL_* variables write lists. Problems never quote
 * the text: headers often carry an API key.
 */
const keyValueList = (kind: 'headers' | 'attributes') =>
  z
    .string()
    .default('')
    .transform((value, ctx) => {
      const pairs = parseKeyValueList(value);
      if (!pairs) {
        ctx.addIssue({ code: 'custom', message: 'must be key=value pairs, comma-separated, values percent-encoded' });
        return z.NEVER;
      }
      if (kind === 'headers' && !areSendableHeaders(pairs)) {
        ctx.addIssue({ code: 'custom', message: 'holds a header name or value HTTP does not allow' });
        return z.NEVER;
      }
      return pairs;
    });

const otlpEndpoint = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional();

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().default('0.0.0.0'),
    PORT: integer(4000, 0, 65535),
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    // Pages and `?token=` are appended to it: a query string of its own would swallow them.
    ACCOUNT_LINKS_BASE_URL: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .refine((value) => new URL(value).search === '', 'must not have a query string (?…); a path or #route is fine')
      .optional(),
    CORS_ORIGINS: originList,
    REFRESH_TOKEN_TRANSPORT: z.enum(['body', 'cookie', 'both']).default('body'),
    COOKIE_SAMESITE: z.enum(['lax', 'strict', 'none']).default('lax'),
    GRAPHIQL: optionalFlag,
    INTROSPECTION: optionalFlag,
    BRAND_NAME: z.string().trim().min(1).max(80).default('Portcullis'),
    BRAND_COLOR: z
      .string()
      .regex(/^#(?:[0-9a-fA-F]{3}){1,2}$/, 'must be a hex colour such as #1f6feb or #36c')
      .default('#1f6feb'),
    BRAND_LOGO_FILE: z
      .string()
      .regex(/\.(png|svg|jpe?g|gif|webp)$/i, 'must name a .png, .svg, .jpg, .gif or .webp file')
      .optional(),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
    DATABASE_POOL_SIZE: integer(10, 1, 200),
    DATA_DIR: z.string().default('./.data'),
    SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    ACCESS_TOKEN_TTL: duration('15m'),
    REFRESH_TOKEN_TTL: duration('30d'),
    EMAIL_VERIFICATION_TTL: duration('24h'),
    SIGNING_KEY_ROTATION: duration('30d'),
    SIGNING_KEY_PUBLICATION_LEAD: duration('10m'),
    JWKS_MAX_AGE: duration('5m'),
    JWT_AUDIENCE: z.string().min(1).default('portcullis'),
    BCRYPT_COST: integer(12, 4, 15),
    // Unset: one less than the cores Node may use, at least 1 (password-hasher.ts).
    BCRYPT_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
    BCRYPT_QUEUE_TIMEOUT: duration('10s'),
    BOOTSTRAP_EMAIL: z.email().default('owner@portcullis.local'),
    BOOTSTRAP_PASSWORD: optionalText,
    BOOTSTRAP_ORG: z.string().trim().min(1).default('Default'),
    SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
    MAIL_TRANSPORT: z.enum(['smtp', 'outbox']).optional(),
    MAIL_FROM: z.string().min(3).default('Portcullis <no-reply@portcullis.local>'),
    MAIL_TEMPLATES_DIR: optionalText,
    LOCKOUT_THRESHOLD: integer(10, 1, 1000),
    LOCKOUT_WINDOW: duration('15m'),
    LOCKOUT_DURATION: duration('15m'),
    LOGIN_SLOWDOWN_AFTER: rateLimit('100/15m'),
    LOGIN_SLOWDOWN_DELAY: duration('2s'),
    RATE_LIMIT_LOGIN_PER_IP: rateLimit('100/15m'),
    RATE_LIMIT_REFRESH_PER_IP: rateLimit('100/15m'),
    RATE_LIMIT_REFRESH_PER_TOKEN: rateLimit('10/15m'),
    RATE_LIMIT_CHANGE_PASSWORD_PER_IP: rateLimit('30/15m'),
    RATE_LIMIT_CHANGE_PASSWORD_PER_ACCOUNT: rateLimit('10/15m'),
    RATE_LIMIT_RESET_REQUEST_PER_IP: rateLimit('30/1h'),
    RATE_LIMIT_RESET_REQUEST_PER_EMAIL: rateLimit('3/1h'),
    RATE_LIMIT_RESET_PASSWORD_PER_IP: rateLimit('30/15m'),
    RATE_LIMIT_RESET_PASSWORD_PER_TOKEN: rateLimit('5/15m'),
    RATE_LIMIT_INVITE_PER_IP: rateLimit('100/1h'),
    RATE_LIMIT_INVITATION_MAIL_PER_EMAIL: rateLimit('5/1h'),
    RATE_LIMIT_RESEND_INVITATION_PER_IP: rateLimit('100/1h'),
    RATE_LIMIT_RESEND_INVITATION_PER_INVITATION: rateLimit('3/1h'),
    RATE_LIMIT_INVITE_LINK_PER_IP: rateLimit('100/1h'),
    RATE_LIMIT_INVITE_LINK_PER_ORG: rateLimit('50/1h'),
    RATE_LIMIT_ACCEPT_INVITATION_PER_IP: rateLimit('30/15m'),
    RATE_LIMIT_ACCEPT_INVITATION_PER_TOKEN: rateLimit('10/15m'),
    RATE_LIMIT_EMAIL_VERIFICATION_PER_IP: rateLimit('30/1h'),
    RATE_LIMIT_EMAIL_VERIFICATION_PER_ACCOUNT: rateLimit('5/1h'),
    RATE_LIMIT_CHANGE_EMAIL_PER_IP: rateLimit('30/1h'),
    RATE_LIMIT_CHANGE_EMAIL_PER_ACCOUNT: rateLimit('5/1h'),
    RATE_LIMIT_VERIFICATION_MAIL_PER_EMAIL: rateLimit('5/1h'),
    RATE_LIMIT_VERIFY_EMAIL_PER_IP: rateLimit('30/15m'),
    IMPORT_BCRYPT_COST: integer(8, 4, 15),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    TRUST_PROXY: proxyHops,
    MAX_QUERY_DEPTH: integer(12, 2, 100),
    MAX_QUERY_ALIASES: integer(30, 1, 1000),
    MAX_QUERY_COST: integer(10_000, 1, 100_000_000),
    MAX_BODY_BYTES: integer(1_000_000, 1_000, 100_000_000),
    // Timers hold at most ~24.8 days; a drain longer than an hour is a mistake anyway.
    SHUTDOWN_GRACE: duration('10s').refine((seconds) => seconds <= 3600, 'must be at most 1h'),
    // Metrics (Prometheus): who may scrape /metrics, and where.
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    // Several processes per host (core/process/cluster.ts).
    WORKERS: integer(1, 1, 64),
    // PostgreSQL behind a pooler (README, "Behind a connection pooler"): where session-bound work connects.
    DATABASE_DIRECT_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
    // Read replicas (core/db/replica-set.ts): where read-only queries may go, and when they may not.
    DATABASE_REPLICA_URLS: replicaUrls,
    // An hour at most for each: a longer window keeps writers on the primary for no gain, and a
    // replica an hour behind serves lists nobody would call current.
    READ_YOUR_WRITES_WINDOW: duration('5s').refine((seconds) => seconds <= 3600, 'must be at most 1h'),
    REPLICA_MAX_LAG: duration('1s').refine((seconds) => seconds <= 3600, 'must be at most 1h'),
    // Tracing (OpenTelemetry, core/observability/tracing.ts): off unless an OTLP endpoint is set.
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: z
      .enum(['http/protobuf'], { error: 'must be http/protobuf, the only protocol the gateway exports with' })
      .default('http/protobuf'),
    OTEL_EXPORTER_OTLP_HEADERS: keyValueList('headers'),
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValueList('headers'),
    OTEL_EXPORTER_OTLP_TIMEOUT: integer(10_000, 1, 600_000),
    OTEL_SERVICE_NAME: optionalText,
    OTEL_RESOURCE_ATTRIBUTES: keyValueList('attributes'),
    OTEL_TRACES_SAMPLER: z.enum(TRACES_SAMPLERS).default('parentbased_always_on'),
    OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
    OTEL_BSP_SCHEDULE_DELAY: integer(5_000, 0, 600_000),
  })
  .superRefine(
    (env, ctx) => {
      if (env.DATABASE_URL && !env.SECRET_KEY) {
        ctx.addIssue({
          code: 'custom',
          path: ['SECRET_KEY'],
          message: 'is required when DATABASE_URL is set (it encrypts the signing keys at rest)',
        });
      }
      if (env.COOKIE_SAMESITE === 'none' && env.REFRESH_TOKEN_TRANSPORT !== 'body' && !isHttps(env.PUBLIC_URL)) {
        ctx.addIssue({
          code: 'custom',
          path: ['COOKIE_SAMESITE'],
          message: 'none needs an https:// PUBLIC_URL: browsers drop SameSite=None cookies that are not Secure',
        });
      }
      if (env.SIGNING_KEY_PUBLICATION_LEAD < env.JWKS_MAX_AGE) {
        ctx.addIssue({
          code: 'custom',
          path: ['SIGNING_KEY_PUBLICATION_LEAD'],
          message: `must be at least JWKS_MAX_AGE (${env.JWKS_MAX_AGE}s): a verifier caching the JWKS that long must see a new key before any token carries it`,
        });
      }
      if (env.SIGNING_KEY_ROTATION <= env.SIGNING_KEY_PUBLICATION_LEAD) {
        ctx.addIssue({
          code: 'custom',
          path: ['SIGNING_KEY_ROTATION'],
          message: `must be longer than SIGNING_KEY_PUBLICATION_LEAD (${env.SIGNING_KEY_PUBLICATION_LEAD}s): the next key is published that long before it signs`,
        });
      }
      if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
        ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT' });
      }
      if (env.WORKERS > 1 && !env.DATABASE_URL) {
        ctx.addIssue({
          code: 'custom',
          path: ['WORKERS'],
          message:
            'above 1 requires DATABASE_URL: the embedded database belongs to one process, so several workers need a PostgreSQL server of their own',
        });
      }
      if (env.DATABASE_DIRECT_URL && !env.DATABASE_URL) {
        ctx.addIssue({
          code: 'custom',
          path: ['DATABASE_DIRECT_URL'],
          message: 'needs DATABASE_URL: it is the direct way to the server DATABASE_URL reaches through a pooler',
        });
      }
      if (env.DATABASE_REPLICA_URLS.length > 0 && !env.DATABASE_URL) {
        ctx.addIssue({
          code: 'custom',
          path: ['DATABASE_REPLICA_URLS'],
          message: 'needs DATABASE_URL: replicas stream from a PostgreSQL server of your own, not the embedded one',
        });
      }
      if (env.READ_YOUR_WRITES_WINDOW <= env.REPLICA_MAX_LAG) {
        ctx.addIssue({
          code: 'custom',
          path: ['READ_YOUR_WRITES_WINDOW'],
          message: `must be longer than REPLICA_MAX_LAG (${env.REPLICA_MAX_LAG}s): once a principal's window ends, a replica that far behind must already hold its writes`,
        });
      }
      if (env.OTEL_TRACES_SAMPLER_ARG !== undefined && !env.OTEL_TRACES_SAMPLER.endsWith('traceidratio')) {
        ctx.addIssue({
          code: 'custom',
          path: ['OTEL_TRACES_SAMPLER_ARG'],
          message: `is the ratio of traceidratio samplers; OTEL_TRACES_SAMPLER ${env.OTEL_TRACES_SAMPLER} takes none`,
        });
      }
      if (env.MAIL_TRANSPORT === 'smtp' && !env.SMTP_URL) {
        ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: 'is required with MAIL_TRANSPORT=smtp' });
      }
      if (env.NODE_ENV === 'production' && !env.SMTP_URL && env.MAIL_TRANSPORT !== 'outbox') {
        ctx.addIssue({
          code: 'custom',
          path: ['SMTP_URL'],
          message:
            'is required in production; set MAIL_TRANSPORT=outbox to write mail to DATA_DIR/outbox instead (links are then not logged)',
        });
      }
    },
    // Report cross-variable problems even when another variable is malformed, so all show at once.
    { when: () => true },
  );

/** Every variable the gateway reads (README's configuration tables are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * Every abuse limit, by what it counts (docs/security.md, "Abuse limits"). `loginPerAccountAndIp`
 * also refuses for `blockSeconds` once spent; `loginSlowdownPerAccount` delays instead of refusing.
 */
export type RateLimits = {
  loginPerIp: RateLimit;
  loginPerAccountAndIp: RateLimit & { blockSeconds: number };
  loginSlowdownPerAccount: RateLimit & { delaySeconds: number };
  refreshPerIp: RateLimit;
  refreshPerToken: RateLimit;
  changePasswordPerIp: RateLimit;
  changePasswordPerAccount: RateLimit;
  resetRequestPerIp: RateLimit;
  resetRequestPerEmail: RateLimit;
  resetPasswordPerIp: RateLimit;
  resetPasswordPerToken: RateLimit;
  invitePerIp: RateLimit;
  invitationMailPerEmail: RateLimit;
  resendInvitationPerIp: RateLimit;
  resendInvitationPerInvitation: RateLimit;
  inviteLinkPerIp: RateLimit;
  inviteLinkPerOrg: RateLimit;
  acceptInvitationPerIp: RateLimit;
  acceptInvitationPerToken: RateLimit;
  emailVerificationPerIp: RateLimit;
  emailVerificationPerAccount: RateLimit;
  changeEmailPerIp: RateLimit;
  changeEmailPerAccount: RateLimit;
  verificationMailPerEmail: RateLimit;
  verifyEmailPerIp: RateLimit;
};

export type RefreshTokenTransport = 'body' | 'cookie' | 'both';

export type Config = {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  publicUrl: string;
  /** Where emailed links point: the hosted pages (PUBLIC_URL) or the operator's own frontend. */
  accountLinksBaseUrl: string;
  /** Origins other than the gateway's own that browsers may call it from, with credentials. */
  corsOrigins: readonly string[];
  cookies: {
    /** Where login puts the refresh token: the JSON answer, the `portcullis_refresh` cookie, or both. */
    refreshTokenTransport: RefreshTokenTransport;
    sameSite: 'lax' | 'strict' | 'none';
    /** Off only for a `http://localhost` PUBLIC_URL, where browsers would drop a Secure cookie. */
    secure: boolean;
  };
  graphiql: boolean;
  introspection: boolean;
  /** Hosted account pages; the logo is a local file the gateway serves, so the CSP stays same-origin. */
  brand: { name: string; color: string; logoFile?: string };
  database: { url?: string; poolSize: number };
  dataDir: string;
  /** Undefined only in embedded mode, where one is generated into DATA_DIR. */
  secretKey?: string;
  auth: {
    accessTokenTtl: number;
    refreshTokenTtl: number;
    audience: string;
    bcryptCost: number;
    /** bcrypt operations at once, and how long (seconds) one may wait for its turn; see PasswordHasher. */
    bcryptConcurrency?: number;
    bcryptQueueTimeout: number;
  };
  /** How long an email verification (or email change) link works, in seconds. */
  emailVerificationTtl: number;
  /** Seconds: how long a key signs, how long before that it is published, how long verifiers may cache the JWKS. */
  signingKeys: { rotation: number; publicationLead: number; jwksMaxAge: number };
  /** Used only when the database has no users at all; no password means one is generated. */
  bootstrap: { email: string; password?: string; orgName: string };
  mail: ({ transport: 'smtp'; smtpUrl: string } | { transport: 'outbox' }) & {
    from: string;
    /** Replacement templates, one file per message and part; missing files keep the built-in text. */
    templatesDir?: string;
  };
  rateLimits: RateLimits;
  /** bcrypt cost for passwords set by CSV import; raised to BCRYPT_COST at the user's next sign-in. */
  importBcryptCost: number;
  logLevel: string;
  /** How many proxies in front of the gateway append to X-Forwarded-For (client-info.ts). */
  trustProxy: number;
  limits: { maxDepth: number; maxAliases: number; maxCost: number; maxBodyBytes: number };
  /** How long in-flight requests may take to finish after SIGTERM before the process gives up. */
  shutdownGraceSeconds: number;
  /** `/metrics`: a bearer token it requires, and a port of its own (then not on the main port). */
  metrics: { token?: string; port?: number };
  /** Gateway processes `serve` runs on this host (node:cluster) when above 1; only with DATABASE_URL. */
  workers: number;
  /**
   * A connection straight to PostgreSQL for session-bound work (LISTEN, the migration lock) when
   * DATABASE_URL is a pooler in transaction mode; set, it also marks DATABASE_URL as such a pooler.
   */
  databaseDirectUrl?: string;
  /**
   * Streaming replicas that read-only queries may use, and in seconds how long after a principal's
   * last mutation its requests stay on the primary and how far behind a replica may be and still serve.
   */
  replicas: { urls: readonly string[]; readYourWritesWindow: number; maxLag: number };
  /** OpenTelemetry tracing; undefined (off) when no OTLP endpoint is set. */
  tracing?: TracingConfig;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The one reader of process.env: parses and validates it once, failing with every problem listed. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // An empty or blank variable means "not set", as in most shells' `VAR= command`.
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value?.trim() !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`),
    );
  }
  const env = parsed.data;
  const production = env.NODE_ENV === 'production';
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    publicUrl,
    accountLinksBaseUrl: (env.ACCOUNT_LINKS_BASE_URL ?? publicUrl).replace(/\/+$/, ''),
    corsOrigins: env.CORS_ORIGINS,
    cookies: {
      refreshTokenTransport: env.REFRESH_TOKEN_TRANSPORT,
      sameSite: env.COOKIE_SAMESITE,
      secure: env.COOKIE_SAMESITE === 'none' || !isLocalHttp(publicUrl),
    },
    graphiql: env.GRAPHIQL ?? !production,
    introspection: env.INTROSPECTION ?? !production,
    brand: { name: env.BRAND_NAME, color: env.BRAND_COLOR, logoFile: env.BRAND_LOGO_FILE },
    database: { url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE },
    dataDir: env.DATA_DIR,
    secretKey: env.SECRET_KEY,
    auth: {
      accessTokenTtl: env.ACCESS_TOKEN_TTL,
      refreshTokenTtl: env.REFRESH_TOKEN_TTL,
      audience: env.JWT_AUDIENCE,
      bcryptCost: env.BCRYPT_COST,
      bcryptConcurrency: env.BCRYPT_CONCURRENCY,
      bcryptQueueTimeout: env.BCRYPT_QUEUE_TIMEOUT,
    },
    emailVerificationTtl: env.EMAIL_VERIFICATION_TTL,
    signingKeys: {
      rotation: env.SIGNING_KEY_ROTATION,
      publicationLead: env.SIGNING_KEY_PUBLICATION_LEAD,
      jwksMaxAge: env.JWKS_MAX_AGE,
    },
    bootstrap: { email: env.BOOTSTRAP_EMAIL, password: env.BOOTSTRAP_PASSWORD, orgName: env.BOOTSTRAP_ORG },
    mail: mailSettings(env),
    rateLimits: {
      loginPerIp: env.RATE_LIMIT_LOGIN_PER_IP,
      loginPerAccountAndIp: {
        points: env.LOCKOUT_THRESHOLD,
        durationSeconds: env.LOCKOUT_WINDOW,
        blockSeconds: env.LOCKOUT_DURATION,
      },
      loginSlowdownPerAccount: { ...env.LOGIN_SLOWDOWN_AFTER, delaySeconds: env.LOGIN_SLOWDOWN_DELAY },
      refreshPerIp: env.RATE_LIMIT_REFRESH_PER_IP,
      refreshPerToken: env.RATE_LIMIT_REFRESH_PER_TOKEN,
      changePasswordPerIp: env.RATE_LIMIT_CHANGE_PASSWORD_PER_IP,
      changePasswordPerAccount: env.RATE_LIMIT_CHANGE_PASSWORD_PER_ACCOUNT,
      resetRequestPerIp: env.RATE_LIMIT_RESET_REQUEST_PER_IP,
      resetRequestPerEmail: env.RATE_LIMIT_RESET_REQUEST_PER_EMAIL,
      resetPasswordPerIp: env.RATE_LIMIT_RESET_PASSWORD_PER_IP,
      resetPasswordPerToken: env.RATE_LIMIT_RESET_PASSWORD_PER_TOKEN,
      invitePerIp: env.RATE_LIMIT_INVITE_PER_IP,
      invitationMailPerEmail: env.RATE_LIMIT_INVITATION_MAIL_PER_EMAIL,
      resendInvitationPerIp: env.RATE_LIMIT_RESEND_INVITATION_PER_IP,
      resendInvitationPerInvitation: env.RATE_LIMIT_RESEND_INVITATION_PER_INVITATION,
      inviteLinkPerIp: env.RATE_LIMIT_INVITE_LINK_PER_IP,
      inviteLinkPerOrg: env.RATE_LIMIT_INVITE_LINK_PER_ORG,
      acceptInvitationPerIp: env.RATE_LIMIT_ACCEPT_INVITATION_PER_IP,
      acceptInvitationPerToken: env.RATE_LIMIT_ACCEPT_INVITATION_PER_TOKEN,
      emailVerificationPerIp: env.RATE_LIMIT_EMAIL_VERIFICATION_PER_IP,
      emailVerificationPerAccount: env.RATE_LIMIT_EMAIL_VERIFICATION_PER_ACCOUNT,
      changeEmailPerIp: env.RATE_LIMIT_CHANGE_EMAIL_PER_IP,
      changeEmailPerAccount: env.RATE_LIMIT_CHANGE_EMAIL_PER_ACCOUNT,
      verificationMailPerEmail: env.RATE_LIMIT_VERIFICATION_MAIL_PER_EMAIL,
      verifyEmailPerIp: env.RATE_LIMIT_VERIFY_EMAIL_PER_IP,
    },
    importBcryptCost: Math.min(env.IMPORT_BCRYPT_COST, env.BCRYPT_COST),
    logLevel: env.LOG_LEVEL,
    trustProxy: env.TRUST_PROXY,
    limits: {
      maxDepth: env.MAX_QUERY_DEPTH,
      maxAliases: env.MAX_QUERY_ALIASES,
      maxCost: env.MAX_QUERY_COST,
      maxBodyBytes: env.MAX_BODY_BYTES,
    },
    shutdownGraceSeconds: env.SHUTDOWN_GRACE,
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT },
    workers: env.WORKERS,
    databaseDirectUrl: env.DATABASE_DIRECT_URL,
    replicas: {
      urls: env.DATABASE_REPLICA_URLS,
      readYourWritesWindow: env.READ_YOUR_WRITES_WINDOW,
      maxLag: env.REPLICA_MAX_LAG,
    },
    tracing: tracingSettings(env),
  };
}

/** Tracing is on when an endpoint is set; OTEL_SERVICE_NAME wins over a service.name attribute. */
function tracingSettings(env: z.infer<typeof envSchema>): TracingConfig | undefined {
  const url = tracesUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (!url) return undefined;
  const { 'service.name': serviceName, ...resourceAttributes } = env.OTEL_RESOURCE_ATTRIBUTES;
  return {
    tracesUrl: url,
    // The signal's own headers win over the shared ones, name by name (OTLP exporter specification).
    headers: { ...env.OTEL_EXPORTER_OTLP_HEADERS, ...env.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    timeoutMs: env.OTEL_EXPORTER_OTLP_TIMEOUT,
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName ?? 'portcullis',
    resourceAttributes,
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    scheduleDelayMs: env.OTEL_BSP_SCHEDULE_DELAY,
  };
}

/** An explicit MAIL_TRANSPORT wins; otherwise SMTP when SMTP_URL is set, else the outbox folder. */
function mailSettings(env: z.infer<typeof envSchema>): Config['mail'] {
  const transport = env.MAIL_TRANSPORT ?? (env.SMTP_URL ? 'smtp' : 'outbox');
  const shared = { from: env.MAIL_FROM, templatesDir: env.MAIL_TEMPLATES_DIR };
  // The schema has already refused MAIL_TRANSPORT=smtp without SMTP_URL.
  if (transport === 'smtp' && env.SMTP_URL) return { transport, smtpUrl: env.SMTP_URL, ...shared };
  return { transport: 'outbox', ...shared };
}

function isHttps(url: string | undefined): boolean {
  return url?.startsWith('https://') ?? false;
}

/** Browsers treat http://localhost as a secure context but do not store Secure cookies from it everywhere. */
function isLocalHttp(publicUrl: string): boolean {
  const url = new URL(publicUrl);
  return (
    url.protocol === 'http:' &&
    (url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]')
  );
}
