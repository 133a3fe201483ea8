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
 * (GraphiQL may persist that). In cookie mode the refresh token is the browser's HttpOnly cookie,
 * one for all tabs, so one tab at a time holds a session and the others are told to let go.
 */
export const GRAPHIQL_INIT_SCRIPT = `(function () {
  'use strict';
  var OPERATIONS = ${JSON.stringify(SIGN_IN_OPERATIONS)};
  var CSRF_HEADERS = { 'X-Portcullis-CSRF': '1' };
  // setTimeout fires at once past this delay (about 24.8 days), which would refresh in a loop.
  var LONGEST_TIMER = 2147483647;
  // However soon a token looks due (a clock that jumps, a tiny ACCESS_TOKEN_TTL), the timer waits
  // this long after a sign-in or refresh, so a refresh can never follow the last in a loop.
  var REFRESH_FLOOR = 5000;
  // A refresh that could not reach the gateway is tried once more after this: the session may live.
  var UNREACHABLE_RETRY_DELAY = 2000;
  var STORAGE_NAMESPACE = 'graphiql:';
  var HISTORY_KEYS = ['graphiql:queries', 'graphiql:favorites'];
  var PERSIST_HEADERS_KEY = 'graphiql:shouldPersistHeaders';

  var root = document.getElementById('graphiql');
  var form = document.getElementById('portcullis-sign-in');
  var bar = document.getElementById('portcullis-bar');
  var alertArea = document.getElementById('portcullis-sign-in-error');
  var submit = form.querySelector('button[type="submit"]');
  var endpoint = window.location.origin + '/graphql';
  var cookieTransport = root.dataset.refreshTransport === 'cookie';
  var tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('portcullis-graphiql') : null;

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

  function wait(milliseconds) {
    return new Promise(function (resolve) { setTimeout(resolve, milliseconds); });
  }

  // fetch rejects only when no answer came (offline, connection refused): marked, so that a refresh
  // can tell the gateway being out of reach from the gateway refusing.
  async function exchange(url, init) {
    var startedAt = Date.now();
    var response;
    try {
      response = await fetch(url, Object.assign({ method: 'POST', credentials: 'same-origin' }, init));
    } catch (error) {
      var unreachable = new Error('could not reach the gateway');
      unreachable.unreachable = true;
      throw unreachable;
    }
    // Read even when empty (a 204): Chromium reports an answer whose body was left unread as aborted.
    var body = await readJson(response);
    var clock = { startedAt: startedAt, serverDate: response.headers.get('date') };
    return { response: response, body: body, clock: clock };
  }

  async function postGraphQL(query, variables) {
    var answer = await exchange(endpoint, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: query, variables: variables }),
    });
    var body = answer.body;
    if (!answer.response.ok || !body || !body.data || (body.errors && body.errors.length > 0)) {
      throw new Error(messageOf(body, answer.response.status));
    }
    answer.data = body.data;
    return answer;
  }

  // Cookie sessions: the browser sends the HttpOnly refresh cookie; the header proves a script of
  // this page asked, which a cross-site form cannot.
  async function postCookieEndpoint(path, retried) {
    var answer = await exchange(path, { headers: CSRF_HEADERS });
    // 409: another tab refreshed the shared cookie a moment ago; the browser now holds its successor.
    if (answer.response.status === 409 && !retried) return postCookieEndpoint(path, true);
    if (!answer.response.ok) throw new Error(messageOf(answer.body, answer.response.status));
    return answer;
  }

  // Whatever spends or ends the shared cookie takes its turn, so tabs never present one token twice.
  function cookieCall(path) {
    var task = function () { return postCookieEndpoint(path); };
    return navigator.locks ? navigator.locks.request('portcullis-refresh', task) : task();
  }

  // expiresAt is on the gateway's clock, which may be minutes off this browser's; the lifetime it
  // grants is not. Measured against the answer's Date header (whole seconds, so taken at the end of
  // its second) and laid from the moment the request left, the local expiry errs early, never late.
  // Without the header the clocks are taken to agree.
  function localExpiryOf(expiresAt, clock) {
    var serverDate = Date.parse(clock.serverDate || '');
    var serverNow = isNaN(serverDate) ? clock.startedAt : serverDate + 1000;
    return clock.startedAt + (Date.parse(expiresAt) - serverNow);
  }

  function adopt(current, grant, clock) {
    current.accessToken = grant.accessToken;
    current.expiresAt = localExpiryOf(grant.expiresAt, clock);
    var lifetime = Math.max(0, current.expiresAt - clock.startedAt);
    var due = current.expiresAt - Math.min(30000, lifetime / 3) - Date.now();
    clearTimeout(current.timer);
    current.timer = setTimeout(refresh, Math.min(LONGEST_TIMER, Math.max(REFRESH_FLOOR, due)));
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
      'Signed in as ' + session.email + ' \\u00b7 access token valid until ' + expiresAt.toLocaleTimeString() +
      (session.refreshToken
        ? " \\u00b7 tokens in this tab's memory"
        : " \\u00b7 refresh token in this browser's HttpOnly cookie, shared by its tabs");
    form.hidden = true;
  }

  function forget(message) {
    if (session) clearTimeout(session.timer);
    session = null;
    alertArea.textContent = message || '';
    render();
  }

  // Tabs share the cookie: another tab's sign-in ended this tab's session, or its sign-out cleared it.
  function announce(event) {
    if (tabs) tabs.postMessage(event);
  }

  if (tabs) {
    tabs.onmessage = function (message) {
      if (!session || session.refreshToken) return;
      forget(
        message.data === 'signed-in'
          ? 'Signed out: you signed in in another tab, and this browser holds one GraphiQL session at a time.'
          : 'Signed out: you signed out in another tab.',
      );
    };
  }

  async function renew(current, retried) {
    try {
      if (!current.refreshToken) {
        var cookieAnswer = await cookieCall('/auth/refresh');
        return { grant: cookieAnswer.body, clock: cookieAnswer.clock };
      }
      var answer = await postGraphQL(OPERATIONS.refreshSession, { refreshToken: current.refreshToken });
      current.refreshToken = answer.data.refreshSession.refreshToken;
      return { grant: answer.data.refreshSession, clock: answer.clock };
    } catch (error) {
      if (!error.unreachable || retried || session !== current) throw error;
      await wait(UNREACHABLE_RETRY_DELAY);
      return renew(current, true);
    }
  }

  // One refresh at a time: a refresh token is single-use, and spending it twice ends the session.
  function refresh() {
    if (refreshing) return refreshing;
    var current = session;
    if (!current) return Promise.resolve();
    refreshing = renew(current, false)
      .then(
        function (renewed) {
          if (session !== current) return;
          adopt(current, renewed.grant, renewed.clock);
          current.refreshCount += 1;
          render();
        },
        function (error) {
          if (session !== current) return;
          forget(
            error.unreachable
              ? 'Signed out: could not reach the gateway to refresh the session.'
              : 'Signed out: the session could not be refreshed (' + error.message + ').',
          );
        },
      )
      .finally(function () {
        refreshing = null;
      });
    return refreshing;
  }

  async function signOut(event) {
    // Disabled at once, so a second click while the first is under way sends no second logout.
    event.currentTarget.disabled = true;
    if (refreshing) await refreshing;
    var current = session;
    if (!current) return;
    clearTimeout(current.timer);
    var failure = null;
    try {
      if (current.refreshToken) {
        await postGraphQL(OPERATIONS.logout, { refreshToken: current.refreshToken });
      } else {
        await cookieCall('/auth/logout');
        announce('signed-out');
      }
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
      // The new sign-in replaces the browser's cookie: end the session it holds rather than strand
      // it, and tell the tab that held it (again once signed in, for a tab that signed in meanwhile).
      if (cookieTransport) {
        await cookieCall('/auth/logout');
        announce('signed-in');
      }
      var answer = await postGraphQL(OPERATIONS.login, { email: email, password: password });
      var grant = answer.data.login;
      // A null refresh token means cookie transport: the gateway set it as an HttpOnly cookie.
      session = { email: grant.user.email || email, refreshToken: grant.refreshToken || null, refreshCount: 0 };
      adopt(session, grant, answer.clock);
      if (!session.refreshToken) announce('signed-in');
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

  function withBearer(init, current) {
    var headers = Object.assign({}, init.headers, { Authorization: 'Bearer ' + current.accessToken });
    return Object.assign({}, init, { headers: headers });
  }

  // The gateway refused the bar's token (expired under a clock the local expiry misjudged, say).
  async function refusesToken(response) {
    if (!/json/.test(response.headers.get('content-type') || '')) return false;
    var body = await readJson(response.clone());
    return Boolean(
      body &&
        Array.isArray(body.errors) &&
        body.errors.some(function (error) {
          return error && error.extensions && error.extensions.reason === 'auth.invalid_token';
        }),
    );
  }

  // The headers GraphiQL passes are the user's own (Headers tab) plus its content negotiation.
  async function authorizedFetch(url, init) {
    if (!session || setsAuthorization(Object.assign({}, init.headers))) return fetch(url, init);
    // A tab that slept past the timer still holds an expired token: refresh before sending.
    if (Date.now() >= session.expiresAt) await refresh();
    var sent = session;
    if (!sent) return fetch(url, init);
    var refused = sent.accessToken;
    var response = await fetch(url, withBearer(init, sent));
    if (session !== sent || !(await refusesToken(response))) return response;
    // Once: a refresh, unless one replaced the token meanwhile, and the request again.
    if (sent.accessToken === refused) await refresh();
    return session === sent ? fetch(url, withBearer(init, sent)) : response;
  }

  // GraphiQL saves each run's headers in its history whatever "Persist headers" says, so a token
  // typed into the Headers tab would land in localStorage. Unless the user turned that setting on,
  // history is stored without headers (and wiped of them when it is turned off). An entry that is
  // not the list GraphiQL writes is not stored at all rather than stored unchecked.
  function historyWithoutHeaders(key, value) {
    var name = key.slice(STORAGE_NAMESPACE.length);
    var stored;
    try {
      stored = JSON.parse(value);
    } catch (error) {
      return null;
    }
    if (!stored || !Array.isArray(stored[name])) return null;
    stored[name] = stored[name].map(function (entry) {
      var kept = Object.assign({}, entry);
      delete kept.headers;
      return kept;
    });
    return JSON.stringify(stored);
  }

  function storeHistory(key, value) {
    var kept = localStorage.getItem(PERSIST_HEADERS_KEY) === 'true' ? value : historyWithoutHeaders(key, value);
    if (kept === null) localStorage.removeItem(key);
    else localStorage.setItem(key, kept);
  }

  function graphiqlKeys() {
    return Object.keys(localStorage).filter(function (key) {
      return key.indexOf(STORAGE_NAMESPACE) === 0;
    });
  }

  // The Storage GraphiQL's StorageAPI expects (@graphiql/toolkit), over localStorage like its default.
  var storage = {
    getItem: function (key) {
      return localStorage.getItem(key);
    },
    setItem: function (key, value) {
      if (HISTORY_KEYS.indexOf(key) === -1) localStorage.setItem(key, value);
      else storeHistory(key, value);
      if (key === PERSIST_HEADERS_KEY && value !== 'true') {
        HISTORY_KEYS.forEach(function (historyKey) {
          var stored = localStorage.getItem(historyKey);
          if (stored !== null) storeHistory(historyKey, stored);
        });
      }
    },
    removeItem: function (key) {
      localStorage.removeItem(key);
    },
    clear: function () {
      graphiqlKeys().forEach(function (key) {
        localStorage.removeItem(key);
      });
    },
    get length() {
      return graphiqlKeys().length;
    },
  };

  var props = {
    fetcher: GraphiQL.createFetcher({ url: endpoint, fetch: authorizedFetch }),
    defaultQuery: root.dataset.defaultQuery,
    defaultEditorToolsVisibility: true,
    storage: storage,
  };
  // Unset, shouldPersistHeaders starts off and GraphiQL shows the "Persist headers" setting (false
  // would hide it); but GraphiQL 3.9 then also turns the setting off on every load, wiping the
  // headers it kept. So a stored "on" is passed back in.
  if (localStorage.getItem(PERSIST_HEADERS_KEY) === 'true') props.shouldPersistHeaders = true;
  // null tells GraphiQL not to introspect: with introspection off it would show Apollo's refusal
  // as "Error fetching schema".
  if (root.dataset.introspection !== 'true') props.schema = null;
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
`;
