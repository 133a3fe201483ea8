import { roleId } from '../support/fixtures';
import { OWNER_EMAIL, OWNER_PASSWORD, startTestGateway, type TestGateway } from '../support/test-gateway';

const APP = 'https://app.example.com';
const OWN_ORIGIN = 'http://portcullis.test';
const THIRTY_DAYS = 30 * 24 * 3600;

const LOGIN = `mutation ($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken expiresAt user { id } }
}`;
const ME = '{ me { id } }';

let cookieMode: TestGateway;
let bothMode: TestGateway;
let bodyMode: TestGateway;

beforeAll(async () => {
  [cookieMode, bothMode, bodyMode] = await Promise.all([
    startTestGateway({ REFRESH_TOKEN_TRANSPORT: 'cookie', CORS_ORIGINS: APP }),
    startTestGateway({
      REFRESH_TOKEN_TRANSPORT: 'both',
      PUBLIC_URL: 'http://localhost:4000',
      COOKIE_SAMESITE: 'strict',
    }),
    startTestGateway(),
  ]);
});

afterAll(async () => {
  await Promise.all([cookieMode?.close(), bothMode?.close(), bodyMode?.close()]);
});

type SetCookie = { value: string; attributes: Record<string, string | true> };

/** The `portcullis_refresh` Set-Cookie of a response, its attribute names lower-cased. */
function refreshCookieOf(response: Response): SetCookie | undefined {
  const line = response.headers.getSetCookie().find((cookie) => cookie.startsWith('portcullis_refresh='));
  if (!line) return undefined;
  const [pair, ...attributes] = line.split(/;\s*/);
  return {
    value: decodeURIComponent(pair.slice('portcullis_refresh='.length)),
    attributes: Object.fromEntries(
      attributes.map((attribute) => {
        const [name, ...value] = attribute.split('=');
        return [name.toLowerCase(), value.length > 0 ? value.join('=') : true];
      }),
    ),
  };
}

async function graphqlAt(server: TestGateway, query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { response, body: (await response.json()) as any, cookie: refreshCookieOf(response) };
}

function login(server: TestGateway) {
  return graphqlAt(server, LOGIN, { email: OWNER_EMAIL, password: OWNER_PASSWORD });
}

/** A cookie-mode sign-in: the value of its refresh cookie and the user's id. */
async function signedIn(server = cookieMode): Promise<{ cookie: string; userId: string }> {
  const { body, cookie } = await login(server);
  if (!cookie) throw new Error(`login set no cookie: ${JSON.stringify(body)}`);
  return { cookie: cookie.value, userId: body.data.login.user.id };
}

/** What a page's `fetch(..., { credentials: 'include' })` sends; `headers` override or (undefined) drop. */
function cookiePost(
  path: string,
  cookie: string | null,
  headers: Record<string, string | undefined> = {},
  server = cookieMode,
) {
  const sent: Record<string, string | undefined> = {
    origin: OWN_ORIGIN,
    'x-portcullis-csrf': '1',
    ...(cookie === null ? {} : { cookie: `portcullis_refresh=${cookie}` }),
    ...headers,
  };
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(sent).filter((entry): entry is [string, string] => !!entry[1])),
  });
}

const refresh = (cookie: string | null, headers?: Record<string, string | undefined>) =>
  cookiePost('/auth/refresh', cookie, headers);
const logout = (cookie: string | null, headers?: Record<string, string | undefined>) =>
  cookiePost('/auth/logout', cookie, headers);

async function reasonOf(response: Response): Promise<string | undefined> {
  return ((await response.json()) as any).errors?.[0]?.extensions?.reason;
}

function expectCleared(response: Response) {
  const cleared = refreshCookieOf(response);
  expect(cleared).toBeDefined();
  expect(cleared!.value).toBe('');
  expect(cleared!.attributes).toMatchObject({ path: '/auth', 'max-age': '0', httponly: true, samesite: 'Lax' });
  expect(new Date(cleared!.attributes.expires as string).getTime()).toBeLessThan(Date.now());
}

async function auditRows(server: TestGateway, action: string, requestId: string | null) {
  return server.sql('SELECT * FROM audit_logs WHERE action = $1 AND request_id = $2 AND org_id IS NULL', [
    action,
    requestId,
  ]);
}

describe('signing in with REFRESH_TOKEN_TRANSPORT=cookie', () => {
  it('sets portcullis_refresh (HttpOnly, Secure, SameSite=Lax, Path=/auth, for the session lifetime) and leaves it out of the JSON', async () => {
    const { response, body, cookie } = await login(cookieMode);
    expect(response.status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.login.refreshToken).toBeNull();
    expect(cookie!.value).toMatch(/^[\w-]{43}$/);
    expect(cookie!.attributes).toEqual({
      'max-age': String(THIRTY_DAYS),
      expires: expect.any(String),
      path: '/auth',
      httponly: true,
      secure: true,
      samesite: 'Lax',
    });
    const [session] = await cookieMode.sql(
      `SELECT s.expires_at FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id
        WHERE t.token_hash = sha256(convert_to($1, 'UTF8'))`,
      [cookie!.value],
    );
    const expires = new Date(cookie!.attributes.expires as string).getTime();
    expect(Math.abs(expires - session.expires_at.getTime())).toBeLessThan(5_000);
    const me = await graphqlAt(cookieMode, ME, {}, body.data.login.accessToken);
    expect(me.body.data.me.id).toBe(body.data.login.user.id);
  });

  it('does the same when acceptInvitation signs a new member in', async () => {
    const owner = (await login(cookieMode)).body.data.login;
    const [org] = await cookieMode.sql(`SELECT id FROM orgs WHERE slug = 'acme'`);
    const link = await graphqlAt(
      cookieMode,
      'mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { token } }',
      { input: { orgId: org.id, roleId: await roleId(cookieMode, org.id, 'viewer') } },
      owner.accessToken,
    );
    const accepted = await graphqlAt(
      cookieMode,
      'mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { accessToken refreshToken } }',
      {
        input: {
          token: link.body.data.createInviteLink.token,
          email: 'cookie.joiner@example.com',
          password: 'a brand new passphrase',
          firstName: 'Cookie',
          lastName: 'Joiner',
        },
      },
    );
    expect(accepted.body.errors).toBeUndefined();
    expect(accepted.body.data.acceptInvitation.refreshToken).toBeNull();
    expect(accepted.cookie!.attributes).toMatchObject({ path: '/auth', httponly: true, secure: true });
    expect((await refresh(accepted.cookie!.value)).status).toBe(200);
  });

  it('keeps refreshSession in the body: its successor is in the JSON and no cookie is set', async () => {
    const { cookie } = await signedIn();
    const answer = await graphqlAt(
      cookieMode,
      'mutation ($token: String!) { refreshSession(refreshToken: $token) { refreshToken } }',
      { token: cookie },
    );
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data.refreshSession.refreshToken).toMatch(/^[\w-]{43}$/);
    expect(answer.cookie).toBeUndefined();
  });
});

describe('the other transports', () => {
  it('both: sets the cookie and returns the same token in the JSON; a http://localhost PUBLIC_URL drops Secure; COOKIE_SAMESITE=strict shows', async () => {
    const { body, cookie } = await login(bothMode);
    expect(body.data.login.refreshToken).toBe(cookie!.value);
    expect(cookie!.attributes).toEqual({
      'max-age': String(THIRTY_DAYS),
      expires: expect.any(String),
      path: '/auth',
      httponly: true,
      samesite: 'Strict',
    });
    // The gateway's own origin is http://localhost:4000 there.
    const refreshed = await cookiePost('/auth/refresh', cookie!.value, { origin: 'http://localhost:4000' }, bothMode);
    expect(refreshed.status).toBe(200);
    expect(refreshCookieOf(refreshed)!.attributes).toMatchObject({ samesite: 'Strict' });
    expect(refreshCookieOf(refreshed)!.attributes.secure).toBeUndefined();
  });

  it('body (the default): sets no cookie and returns the token in the JSON', async () => {
    const { response, body } = await login(bodyMode);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(body.data.login.refreshToken).toMatch(/^[\w-]{43}$/);
  });
});

describe('POST /auth/refresh', () => {
  it('answers a new access token and rotates the cookie, audited as session.refreshed', async () => {
    const { cookie, userId } = await signedIn();
    const response = await refresh(cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as any;
    expect(body).toEqual({ accessToken: expect.any(String), expiresAt: expect.any(String), tokenType: 'Bearer' });
    expect(new Date(body.expiresAt).toISOString()).toBe(body.expiresAt);
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const rotated = refreshCookieOf(response)!;
    expect(rotated.value).toMatch(/^[\w-]{43}$/);
    expect(rotated.value).not.toBe(cookie);
    expect(rotated.attributes).toMatchObject({ path: '/auth', httponly: true, secure: true, samesite: 'Lax' });
    expect((await graphqlAt(cookieMode, ME, {}, body.accessToken)).body.data.me.id).toBe(userId);
    const audit = await auditRows(cookieMode, 'session.refreshed', response.headers.get('x-request-id'));
    expect(audit).toHaveLength(1);
    expect(audit[0].actor_id).toBe(userId);
  });

  it('treats a spent cookie as theft: 401, cleared, and the whole chain revoked', async () => {
    const { cookie: first } = await signedIn();
    const second = refreshCookieOf(await refresh(first))!.value;
    // Past the grace a concurrent refresh of another tab gets, a spent cookie is a replay.
    await cookieMode.sql(`UPDATE refresh_tokens SET used_at = used_at - interval '1 minute' WHERE used_at IS NOT NULL`);

    const replay = await refresh(first);
    expect(replay.status).toBe(401);
    expect(replay.headers.get('cache-control')).toBe('no-store');
    expectCleared(replay);
    expect(await reasonOf(replay)).toBe('auth.invalid_refresh_token');
    const audit = await auditRows(cookieMode, 'session.refresh_token_reused', replay.headers.get('x-request-id'));
    expect(audit).toHaveLength(1);

    const successor = await refresh(second);
    expect(successor.status).toBe(401);
    expectCleared(successor);
  });

  it('lets two tabs refresh at once: the loser gets a 409 to retry, and the session goes on', async () => {
    const { cookie, userId } = await signedIn();
    const answers = await Promise.all([refresh(cookie), refresh(cookie)]);
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 409]);
    const winner = answers.find((answer) => answer.status === 200)!;
    const loser = answers.find((answer) => answer.status === 409)!;
    expect(await reasonOf(loser)).toBe('auth.refresh_superseded');
    // The loser neither clears the cookie nor gets a token: the winner's successor stays in the jar.
    expect(loser.headers.getSetCookie()).toEqual([]);
    const successor = refreshCookieOf(winner)!.value;
    const retried = await refresh(successor);
    expect(retried.status).toBe(200);
    const body = (await retried.json()) as any;
    expect((await graphqlAt(cookieMode, ME, {}, body.accessToken)).body.data.me.id).toBe(userId);
    expect(await auditRows(cookieMode, 'session.refresh_token_reused', loser.headers.get('x-request-id'))).toEqual([]);
  });

  it('answers a missing, unknown or malformed cookie with 401 JSON and clears it', async () => {
    for (const cookie of [null, '', 'A'.repeat(43), '%E0%A4%A', 'x'.repeat(4000)]) {
      const response = await refresh(cookie);
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await reasonOf(response)).toBe('auth.invalid_refresh_token');
      expectCleared(response);
    }
  });

  it('refuses without X-Portcullis-CSRF: 1 (403) and leaves the cookie unspent', async () => {
    const { cookie } = await signedIn();
    for (const csrf of [undefined, '0', 'true']) {
      const refused = await refresh(cookie, { 'x-portcullis-csrf': csrf });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      expect(await reasonOf(refused)).toBe('auth.csrf_header_required');
      expect(refused.headers.getSetCookie()).toEqual([]);
    }
    expect((await refresh(cookie)).status).toBe(200);
  });

  it('accepts the gateway’s own origin and a listed one, and refuses a foreign or missing Origin (403)', async () => {
    const { cookie } = await signedIn();
    for (const origin of ['https://evil.test', 'https://app.example.com.evil.test', 'null', undefined]) {
      const refused = await refresh(cookie, { origin });
      expect(refused.status).toBe(403);
      expect(await reasonOf(refused)).toBe('request.origin_not_allowed');
      expect(refused.headers.getSetCookie()).toEqual([]);
    }
    const fromApp = await refresh(cookie, { origin: APP });
    expect(fromApp.status).toBe(200);
    expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP);
    expect(fromApp.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('accepts the origin the browser addressed (its Host), as when PUBLIC_URL names another host', async () => {
    const { cookie } = await signedIn();
    // The test gateway listens on 127.0.0.1:<port> while PUBLIC_URL says http://portcullis.test.
    const addressed = new URL(cookieMode.url).origin;
    const refreshed = await refresh(cookie, { origin: addressed });
    expect(refreshed.status).toBe(200);
    const otherPort = `http://127.0.0.1:${Number(new URL(cookieMode.url).port) + 1}`;
    const refused = await refresh(refreshCookieOf(refreshed)!.value, { origin: otherPort });
    expect(refused.status).toBe(403);
  });

  it('answers other methods with a JSON 405', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const response = await fetch(`${cookieMode.url}/auth/refresh`, { method });
      expect(response.status).toBe(405);
      expect(await response.json()).toEqual({ error: 'method not allowed' });
    }
  });
});

describe('POST /auth/logout', () => {
  it('ends the session and clears the cookie (204), audited as session.logout', async () => {
    const { cookie, userId } = await signedIn();
    const response = await logout(cookie);
    expect(response.status).toBe(204);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expectCleared(response);
    const audit = await auditRows(cookieMode, 'session.logout', response.headers.get('x-request-id'));
    expect(audit).toHaveLength(1);
    expect(audit[0].actor_id).toBe(userId);
    expect((await refresh(cookie)).status).toBe(401);
  });

  it('answers 204 and clears the cookie when there is none', async () => {
    const response = await logout(null);
    expect(response.status).toBe(204);
    expectCleared(response);
  });

  it('refuses without the CSRF header or from a foreign origin, and the session goes on', async () => {
    const { cookie } = await signedIn();
    const noHeader = await logout(cookie, { 'x-portcullis-csrf': undefined });
    expect(noHeader.status).toBe(403);
    expect(noHeader.headers.getSetCookie()).toEqual([]);
    const foreign = await logout(cookie, { origin: 'https://evil.test' });
    expect(foreign.status).toBe(403);
    expect(await reasonOf(foreign)).toBe('request.origin_not_allowed');
    expect((await refresh(cookie)).status).toBe(200);
  });
});
