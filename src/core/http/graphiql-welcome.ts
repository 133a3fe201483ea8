import type { RefreshTokenTransport } from '../config/config';

const INTROSPECTION_ON = `# Ctrl-Space completes fields and arguments; the Docs panel (book icon, left)
# describes every type.`;

const INTROSPECTION_OFF = `# Introspection is off on this gateway (INTROSPECTION=false): there is no
# autocompletion and no Docs panel, but queries still run.`;

/** Where the bar's refresh token lives, which decides whether tabs share a session. */
const REFRESH_TOKEN_HOME: Record<RefreshTokenTransport, string> = {
  body: `# The refresh token stays in this tab's memory too: each tab has a session of
# its own, and a reload signs you out.`,
  cookie: `# The refresh token is elsewhere: in an HttpOnly cookie of this browser
# (REFRESH_TOKEN_TRANSPORT=cookie), out of reach of scripts and shared by all
# its tabs, so one tab at a time is signed in: signing in or out in one tab
# signs the others out, and a sign-in first ends the session the cookie held.`,
  both: `# The refresh token stays in this tab's memory too: each tab has a session of
# its own. The gateway also sets it as an HttpOnly cookie for browser apps
# (REFRESH_TOKEN_TRANSPORT=both), which this explorer does not use.`,
};

/**
 * The query editor's first text: what the explorer is, how signing in works, and one query that
 * runs as it stands for any signed-in member (a test validates it against schema.graphql). One
 * anonymous operation: the run button runs it rather than opening a menu, and no operation name
 * outlives it once the user types a query of their own.
 */
export function graphiqlWelcome(config: {
  introspection: boolean;
  refreshTokenTransport: RefreshTokenTransport;
}): string {
  const { introspection, refreshTokenTransport } = config;
  return `# Welcome to Portcullis GraphiQL, the explorer of this gateway's GraphQL API.
#
# Sign in with the bar above. The explorer keeps your access token in this
# tab's memory only, sends "Authorization: Bearer <access token>" with every
# query and refreshes the token before it expires.
${REFRESH_TOKEN_HOME[refreshTokenTransport]}
#
# An Authorization header of your own in the Headers tab takes precedence.
# Headers, in the tabs and in the History panel, are kept across reloads only
# if you turn on "Persist headers" in the settings (gear icon).
#
${introspection ? INTROSPECTION_ON : INTROSPECTION_OFF}
#
# Your first query: press the run button (or Ctrl-Enter) once signed in. It
# asks who you are and in which orgs, with which role; the orgs you can see;
# and your signed-in sessions. Edit it freely.

{
  me {
    id
    email
    fullName
    memberships {
      org {
        name
      }
      role {
        name
      }
    }
  }
  orgs {
    edges {
      node {
        id
        name
      }
    }
  }
  sessions {
    edges {
      node {
        id
        current
        userAgent
        lastRefreshedAt
        expiresAt
      }
    }
  }
}
`;
}
