import { loadConfig } from '../../src/core/config/config';
import { configProblems as problems } from '../support/config-problems';

describe('tracing configuration', () => {
  it('is off unless an OTLP endpoint is set, whatever else is', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(
      loadConfig({ OTEL_SERVICE_NAME: 'edge', OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' })
        .tracing,
    ).toBeUndefined();
  });

  it('sends to v1/traces under OTEL_EXPORTER_OTLP_ENDPOINT, with the defaults of the specification', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      headers: {},
      timeoutMs: 10_000,
      serviceName: 'portcullis',
      resourceAttributes: {},
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      scheduleDelayMs: 5_000,
    });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/base' }).tracing?.tracesUrl).toBe(
      'https://otlp.example.com/base/v1/traces',
    );
  });

  it('takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, over the shared endpoint', () => {
    const config = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces.internal:9000/ingest',
    });
    expect(config.tracing?.tracesUrl).toBe('http://traces.internal:9000/ingest');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/x' }).tracing?.tracesUrl).toBe('http://t:1/x');
  });

  it('decodes headers and resource attributes, the traces headers winning name by name', () => {
    const tracing = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_HEADERS: ' api-key = secret%20value , x-tenant=a%2Cb',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=traces',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.namespace=identity',
    }).tracing;
    expect(tracing?.headers).toEqual({ 'api-key': 'secret value', 'x-tenant': 'traces' });
    expect(tracing?.resourceAttributes).toEqual({ 'deployment.environment': 'prod', 'service.namespace': 'identity' });
  });

  it('names the service from OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES', () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(loadConfig({ ...base, OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' }).tracing?.serviceName).toBe(
      'from-attributes',
    );
    expect(
      loadConfig({ ...base, OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes', OTEL_SERVICE_NAME: 'gw' })
        .tracing,
    ).toMatchObject({ serviceName: 'gw', resourceAttributes: {} });
  });

  it('reads the sampler, its ratio, the timeout and the batch delay', () => {
    const tracing = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    }).tracing;
    expect(tracing).toMatchObject({ sampler: 'parentbased_traceidratio', samplerRatio: 0.25, timeoutMs: 2500 });
    expect(tracing?.scheduleDelayMs).toBe(200);
  });

  describe('refuses, naming the variable,', () => {
    it.each<[string, Record<string, string>, string]>([
      [
        'an endpoint that is not http(s)',
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' },
        'OTEL_EXPORTER_OTLP_ENDPOINT',
      ],
      ['a protocol other than http/protobuf', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL'],
      ['an unknown sampler', { OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER'],
      [
        'a ratio above 1',
        { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '5' },
        'OTEL_TRACES_SAMPLER_ARG',
      ],
      ['a ratio for a sampler that takes none', { OTEL_TRACES_SAMPLER_ARG: '0.5' }, 'OTEL_TRACES_SAMPLER_ARG'],
      ['a timeout that is not milliseconds', { OTEL_EXPORTER_OTLP_TIMEOUT: '10s' }, 'OTEL_EXPORTER_OTLP_TIMEOUT'],
      ['resource attributes without =', { OTEL_RESOURCE_ATTRIBUTES: 'prod' }, 'OTEL_RESOURCE_ATTRIBUTES'],
    ])('%s', (_case, env, variable) => {
      const lines = problems(env);
      expect(lines).toHaveLength(1);
      expect(lines[0].startsWith(`${variable}: `)).toBe(true);
    });

    it.each([
      ['a pair without =', 'api-key'],
      ['a broken percent-encoding', 'api-key=%zz-secret'],
      ['a name HTTP does not allow', 'api key=secret-value'],
      ['a line break in a value', 'api-key=secret%0Avalue'],
    ])('headers with %s, without quoting them', (_case, headers) => {
      const lines = problems({ OTEL_EXPORTER_OTLP_HEADERS: headers });
      expect(lines).toHaveLength(1);
      expect(lines[0].startsWith('OTEL_EXPORTER_OTLP_HEADERS: ')).toBe(true);
      expect(lines[0]).not.toContain('secret');
    });
  });
});
