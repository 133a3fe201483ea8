const INTROSPECTION_ON = `# Ctrl-Space completes fields and arguments; the Docs panel (book icon, left)
# describes every type.`;

const INTROSPECTION_OFF = `# Introspection is off on this gateway (INTROSPECTION=false): there is no
# autocompletion and no Docs panel, but queries still run.`;

/**
 * The query editor's first text: what the explorer is, how signing in works, and one query that
 * runs as it stands for any signed-in member (a test validates it against schema.graphql). One
 * anonymous operation: the run button runs it rather than opening a menu, and no operation name
 * outlives it once the user types a query of their own.
 */
export function graphiqlWelcome(introspection: boolean): string {
  return `# Welcome to Portcullis GraphiQL, the explorer of this gateway's GraphQL API.
#
# Sign in with the bar above. The explorer keeps your tokens in this tab's
# memory only, sends "Authorization: Bearer <access token>" with every query
# and refreshes the token before it expires. An Authorization header of your
# own in the Headers tab takes precedence. Headers are kept across reloads
# only if you turn on "Persist headers" in the settings (gear icon).
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
