/** The operations the sign-in bar sends; exported so a test validates them against schema.graphql. */
export const SIGN_IN_OPERATIONS = {
  login: `mutation PortcullisSignIn($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken expiresAt refreshToken user { email } }
}`,
  refreshSession: `mutation PortcullisRefresh($refreshToken: String!) {
  refreshSession(refreshToken: $refreshToken) { accessToken expiresAt refreshToken }
}`,
  logout: `mutation PortcullisSignOut($refreshToken: String!) {
  logout(refreshToken: $refreshToken)
}`,
};

/**
 * Mounts GraphiQL and wires the sign-in bar the page renders. Served as a file, as the CSP allows
 * no inline script; settings come from the page's data attributes. Tokens stay in this closure:
 * never in web storage (any script of the origin could read them) and never in the headers editor
 * (GraphiQL may persist that).
 */
export const GRAPHIQL_INIT_SCRIPT = `(function () {
  'use strict';
  var OPERATIONS = ${JSON.stringify(SIGN_IN_OPERATIONS)};
  var CSRF_HEADERS = { 'X-Portcullis-CSRF': '1' };
  // setTimeout fires at once past this delay (about 24.8 days), which would refresh in a loop.
  var LONGEST_TIMER = 2147483647;

  var root = document.getElementById('graphiql');
  var form = document.getElementById('portcullis-sign-in');
  var bar = document.getElementById('portcullis-bar');
  var alertArea = document.getElementById('portcullis-sign-in-error');
  var submit = form.querySelector('button[type="submit"]');
  var endpoint = window.location.origin + '/graphql';

  var session = null;
  var refreshing = null;

  function messageOf(body, status) {
    if (body && Array.isArray(body.errors) && body.errors.length > 0) return body.errors[0].message;
    if (body && typeof body.error === 'string') return body.error;
    return 'the gateway answered HTTP ' + status;
  }

  function readJson(response) {
    return response.json().catch(function () { return null; });
  }

  async function postGraphQL(query, variables) {
    var response = await fetch(endpoint, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: query, variables: variables }),
    });
    var body = await readJson(response);
    if (!response.ok || !body || !body.data || (body.errors && body.errors.length > 0)) {
      throw new Error(messageOf(body, response.status));
    }
    return body.data;
  }

  // Cookie sessions: the browser sends the HttpOnly refresh cookie; the header proves a script of
  // this page asked, which a cross-site form cannot.
  async function postCookieEndpoint(path, retried) {
    var response = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: CSRF_HEADERS });
    // 409: another tab refreshed the shared cookie a moment ago; the browser now holds its successor.
    if (response.status === 409 && !retried) return postCookieEndpoint(path, true);
    var body = response.status === 204 ? null : await readJson(response);
    if (!response.ok) throw new Error(messageOf(body, response.status));
    return body;
  }

  function schedule(current, grant) {
    current.accessToken = grant.accessToken;
    current.expiresAt = Date.parse(grant.expiresAt);
    var lifetime = Math.max(0, current.expiresAt - Date.now());
    var due = current.expiresAt - Math.min(30000, lifetime / 3) - Date.now();
    clearTimeout(current.timer);
    current.timer = setTimeout(refresh, Math.min(LONGEST_TIMER, Math.max(0, due)));
  }

  function render() {
    var box = document.getElementById('portcullis-session');
    if (!session) {
      if (box) box.remove();
      form.hidden = false;
      return;
    }
    if (!box) {
      box = document.createElement('div');
      box.id = 'portcullis-session';
      var text = document.createElement('span');
      var signOutButton = document.createElement('button');
      signOutButton.type = 'button';
      signOutButton.textContent = 'Sign out';
      signOutButton.addEventListener('click', signOut);
      box.append(text, ' ', signOutButton);
      bar.append(box);
    }
    var expiresAt = new Date(session.expiresAt);
    box.dataset.expiresAt = expiresAt.toISOString();
    box.dataset.refreshCount = String(session.refreshCount);
    box.firstChild.textContent =
      'Signed in as ' + session.email + ' \\u00b7 access token valid until ' + expiresAt.toLocaleTimeString();
    form.hidden = true;
  }

  function forget(message) {
    if (session) clearTimeout(session.timer);
    session = null;
    alertArea.textContent = message || '';
    render();
  }

  // One refresh at a time: a refresh token is single-use, and spending it twice ends the session.
  function refresh() {
    if (refreshing) return refreshing;
    var current = session;
    if (!current) return Promise.resolve();
    var request = current.refreshToken
      ? postGraphQL(OPERATIONS.refreshSession, { refreshToken: current.refreshToken }).then(function (data) {
          current.refreshToken = data.refreshSession.refreshToken;
          return data.refreshSession;
        })
      : postCookieEndpoint('/auth/refresh');
    refreshing = request
      .then(
        function (grant) {
          if (session !== current) return;
          schedule(current, grant);
          current.refreshCount += 1;
          render();
        },
        function (error) {
          if (session === current) forget('Signed out: the session could not be refreshed (' + error.message + ').');
        },
      )
      .finally(function () {
        refreshing = null;
      });
    return refreshing;
  }

  async function signOut() {
    if (refreshing) await refreshing;
    var current = session;
    if (!current) return;
    clearTimeout(current.timer);
    var failure = null;
    try {
      if (current.refreshToken) await postGraphQL(OPERATIONS.logout, { refreshToken: current.refreshToken });
      else await postCookieEndpoint('/auth/logout');
    } catch (error) {
      failure = 'Signed out here, but the gateway could not end the session: ' + error.message;
    }
    if (session === current) forget(failure);
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    var email = form.elements.email.value.trim();
    var password = form.elements.password.value;
    submit.disabled = true;
    alertArea.textContent = '';
    try {
      var grant = (await postGraphQL(OPERATIONS.login, { email: email, password: password })).login;
      // A null refresh token means cookie transport: the gateway set it as an HttpOnly cookie.
      session = { email: grant.user.email || email, refreshToken: grant.refreshToken || null, refreshCount: 0 };
      schedule(session, grant);
      form.reset();
      render();
    } catch (error) {
      alertArea.textContent = 'Sign-in failed: ' + error.message;
    } finally {
      submit.disabled = false;
    }
  });

  submit.disabled = false;

  function setsAuthorization(headers) {
    return Object.keys(headers).some(function (name) {
      return name.toLowerCase() === 'authorization';
    });
  }

  // The headers GraphiQL passes are the user's own (Headers tab) plus its content negotiation.
  async function authorizedFetch(url, init) {
    var headers = Object.assign({}, init.headers);
    if (session && !setsAuthorization(headers)) {
      // A tab that slept past the timer still holds an expired token: refresh before sending.
      if (Date.now() >= session.expiresAt) await refresh();
      if (session) headers.Authorization = 'Bearer ' + session.accessToken;
    }
    return fetch(url, Object.assign({}, init, { headers: headers }));
  }

  var props = {
    fetcher: GraphiQL.createFetcher({ url: endpoint, fetch: authorizedFetch }),
    defaultQuery: root.dataset.defaultQuery,
    defaultEditorToolsVisibility: true,
    // shouldPersistHeaders is left unset on purpose: GraphiQL then starts with it off and shows
    // the "Persist headers" setting, remembering the user's choice (false would hide the setting).
  };
  // null tells GraphiQL not to introspect: with introspection off it would show Apollo's refusal
  // as "Error fetching schema".
  if (root.dataset.introspection !== 'true') props.schema = null;
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
`;
