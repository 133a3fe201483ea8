import { loadConfig } from '../../src/core/config/config';
import { configProblems as problemsOf } from '../support/config-problems';

it('serves /metrics openly on the main port when neither variable is set', () => {
  expect(loadConfig({}).metrics).toEqual({ token: undefined, port: undefined });
});

it('reads METRICS_TOKEN and METRICS_PORT', () => {
  const config = loadConfig({ METRICS_TOKEN: 'a-long-enough-scrape-token', METRICS_PORT: '9464' });
  expect(config.metrics).toEqual({ token: 'a-long-enough-scrape-token', port: 9464 });
});

it('treats blank values as unset', () => {
  expect(loadConfig({ METRICS_TOKEN: ' ', METRICS_PORT: '' }).metrics).toEqual({ token: undefined, port: undefined });
});

it('refuses a token shorter than 16 characters', () => {
  expect(problemsOf({ METRICS_TOKEN: 'short' })).toEqual(['METRICS_TOKEN: must be at least 16 characters']);
});

it.each(['0', '65536', 'nine', '94.64'])('refuses METRICS_PORT=%s', (port) => {
  expect(problemsOf({ METRICS_PORT: port })).toEqual([expect.stringMatching(/^METRICS_PORT: /)]);
});

it('refuses METRICS_PORT equal to PORT', () => {
  expect(problemsOf({ PORT: '4000', METRICS_PORT: '4000' })).toEqual(['METRICS_PORT: must differ from PORT']);
  expect(problemsOf({ METRICS_PORT: '4000' })).toEqual(['METRICS_PORT: must differ from PORT']);
});
