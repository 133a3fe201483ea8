import { freePort } from '../support/spawn-gateway';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const TOKEN = 'scraper-token-0123456789abcdef';

describe('with METRICS_TOKEN', () => {
  let server: TestGateway;
  beforeAll(async () => {
    server = await startTestGateway({ METRICS_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['no Authorization header', {}],
    ['another token', { authorization: 'Bearer scraper-token-0123456789abcdeX' }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['the token as Basic credentials', { authorization: `Basic ${TOKEN}` }],
  ])('refuses %s with 401 and WWW-Authenticate: Bearer, saying nothing more', async (_case, headers) => {
    const response = await fetch(`${server.url}/metrics`, { headers });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.text()).toBe('');
  });

  it('serves the metrics with the token, in the registry’s content type', async () => {
    const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('portcullis_http_requests_total');
  });
});

describe('with METRICS_PORT', () => {
  let server: TestGateway;
  let metricsUrl: string;
  beforeAll(async () => {
    const port = await freePort();
    server = await startTestGateway({ METRICS_PORT: String(port) });
    metricsUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves the metrics there without a token, and nothing else', async () => {
    await fetch(`${server.url}/healthz`);
    const response = await fetch(`${metricsUrl}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/portcullis_http_requests_total\{route="\/healthz",operation="-",code="200"\} 1/);
    expect((await fetch(`${metricsUrl}/graphql`)).status).toBe(404);
    expect((await fetch(`${metricsUrl}/metrics`, { method: 'POST' })).status).toBe(404);
  });

  it('answers 404 for /metrics on the main port', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(404);
  });

  it('closes the metrics listener with the gateway', async () => {
    const second = await startTestGateway({ METRICS_PORT: String(await freePort()) });
    const port = second.gateway.config.metrics.port;
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    await second.close();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('with neither', () => {
  it('serves /metrics on the main port to anyone', async () => {
    const server = await startTestGateway();
    try {
      expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
