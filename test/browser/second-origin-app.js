/* global document, fetch, location, URLSearchParams, window */
// A browser app on another origin, as an operator's frontend would call the gateway: bearer access
// token in memory, refresh token only in the gateway's HttpOnly cookie. Every call is logged on the
// page (for screenshots) and every body it could read is kept, to prove the refresh token never
// reached JavaScript.
const gateway = new URLSearchParams(location.search).get('gateway');
const seen = [];

const LOGIN =
  'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken expiresAt } }';

async function call(step, path, { body, token, csrf } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  if (csrf) headers['x-portcullis-csrf'] = '1';
  let outcome;
  try {
    const response = await fetch(gateway + path, {
      method: 'POST',
      credentials: 'include',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    seen.push(text);
    outcome = { status: response.status, json: text ? JSON.parse(text) : null };
  } catch (error) {
    outcome = { error: String(error) };
  }
  const entry = document.createElement('li');
  entry.dataset.step = step;
  entry.textContent = `${step}: ${JSON.stringify(outcome)}`;
  document.getElementById('log').append(entry);
  return outcome;
}

window.app = {
  seen,
  login: (email, password) => call('login', '/graphql', { body: { query: LOGIN, variables: { email, password } } }),
  me: (token) => call('me', '/graphql', { body: { query: '{ me { email } }' }, token }),
  refresh: () => call('refresh', '/auth/refresh', { csrf: true }),
  logout: () => call('logout', '/auth/logout', { csrf: true }),
};
document.getElementById('origin').textContent = `${location.origin} → ${gateway}`;
