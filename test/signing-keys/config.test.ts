import { ConfigError, loadConfig } from '../../src/core/config/config';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

it('defaults to a 30-day rotation, a 10-minute lead and a 5-minute JWKS max-age', () => {
  expect(loadConfig({}).signingKeys).toEqual({ rotation: 30 * 86400, publicationLead: 600, jwksMaxAge: 300 });
});

it('refuses a publication lead shorter than the JWKS max-age', () => {
  expect(problems({ SIGNING_KEY_PUBLICATION_LEAD: '2m' })).toEqual([
    'SIGNING_KEY_PUBLICATION_LEAD: must be at least JWKS_MAX_AGE (300s): a verifier caching the JWKS that long must see a new key before any token carries it',
  ]);
  expect(problems({ SIGNING_KEY_PUBLICATION_LEAD: '2m', JWKS_MAX_AGE: '60' })).toEqual([]);
});

it('refuses a rotation no longer than the lead', () => {
  expect(problems({ SIGNING_KEY_ROTATION: '10m' })).toEqual([
    'SIGNING_KEY_ROTATION: must be longer than SIGNING_KEY_PUBLICATION_LEAD (600s): the next key is published that long before it signs',
  ]);
});
