/**
 * The baseline of issue 13: a plain @apollo/server on fastify with pg, doing what the gateway does
 * for the bench's requests with no framework in between. Every request verifies its access token
 * the way the gateway does (jose, ES256 keys from the gateway's JWKS by `kid`, `typ` at+jwt,
 * issuer, audience, required claims) and re-checks the session and account in the database.
 *
 *   BASELINE_DATABASE_URL, BASELINE_PORT, JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, BASELINE_POOL_SIZE
 */
import { ApolloServer } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify from 'fastify';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { Pool } from 'pg';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

type Caller = { userId: string; sessionId: string } | null;
type Context = { caller: Caller };
type Cursor = { value: string; id: string };

const typeDefs = /* GraphQL */ `
  type Query {
    me: User
    org(id: ID!): Org
  }
  type User {
    id: ID!
    email: String
  }
  type Role {
    key: String!
  }
  type Membership {
    id: ID!
    user: User!
    role: Role!
  }
  type MembershipEdge {
    cursor: String!
    node: Membership!
  }
  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
  }
  type MembershipConnection {
    edges: [MembershipEdge!]!
    pageInfo: PageInfo!
  }
  type Org {
    id: ID!
    members(first: Int, after: String): MembershipConnection!
  }
`;

// The session is live and the account active: the gateway's per-request check, as one predicate.
const LIVE_SESSION = `s.id = $SID AND s.user_id = $UID AND s.revoked_at IS NULL AND s.expires_at > now()
  AND u.status = 'ACTIVE' AND u.locked_at IS NULL`;

const ME = `SELECT u.id, u.email FROM sessions s JOIN users u ON u.id = s.user_id
  WHERE ${LIVE_SESSION.replace('$SID', '$1').replace('$UID', '$2')}`;

// The same keyset page as the gateway's member list (by lower(email), then membership id), with
// the caller's right to read it (live session, active membership whose role has members:read)
// checked in the same statement.
const MEMBER_PAGE = `
  SELECT m.id, u.id AS user_id, u.email, r.key AS role_key, lower(coalesce(u.email, '')) AS sort_value
    FROM memberships m
    JOIN users u ON u.id = m.user_id
    JOIN roles r ON r.id = m.role_id
   WHERE m.org_id = $1
     AND EXISTS (
       SELECT 1 FROM sessions s
         JOIN users u ON u.id = s.user_id
         JOIN memberships cm ON cm.user_id = u.id AND cm.org_id = $1 AND cm.status = 'ACTIVE'
         JOIN roles cr ON cr.id = cm.role_id
        WHERE ${LIVE_SESSION.replace('$SID', '$2').replace('$UID', '$3')} AND 'members:read' = ANY (cr.permissions))
     AND ($4::text IS NULL OR (lower(coalesce(u.email, '')), m.id) > ($4::text, $5::uuid))
   ORDER BY lower(coalesce(u.email, '')), m.id
   LIMIT $6`;

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
const decodeCursor = (text: string): Cursor => JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;

async function main(): Promise<void> {
  const pool = new Pool({
    connectionString: env('BASELINE_DATABASE_URL'),
    max: Number(process.env.BASELINE_POOL_SIZE ?? 10),
  });
  const jwks = createLocalJWKSet((await (await fetch(env('JWKS_URL'))).json()) as JSONWebKeySet);
  const issuer = env('JWT_ISSUER');
  const audience = env('JWT_AUDIENCE');

  async function authenticate(authorization: string | undefined): Promise<Caller> {
    const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
    if (!token) return null;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        algorithms: ['ES256'],
        typ: 'at+jwt',
        issuer,
        audience,
        requiredClaims: ['sub', 'sid', 'exp', 'iat', 'jti'],
      });
      return typeof payload.sub === 'string' && typeof payload.sid === 'string'
        ? { userId: payload.sub, sessionId: payload.sid }
        : null;
    } catch {
      return null;
    }
  }

  const resolvers = {
    Query: {
      async me(_: unknown, __: unknown, { caller }: Context) {
        if (!caller) return null;
        const { rows } = await pool.query(ME, [caller.sessionId, caller.userId]);
        return rows[0] ?? null;
      },
      org: (_: unknown, { id }: { id: string }, { caller }: Context) => (caller ? { id } : null),
    },
    Org: {
      async members({ id }: { id: string }, args: { first?: number; after?: string }, { caller }: Context) {
        const first = Math.min(Math.max(args.first ?? 20, 1), 100);
        const after = args.after ? decodeCursor(args.after) : null;
        const { rows } = await pool.query(MEMBER_PAGE, [
          id,
          caller?.sessionId,
          caller?.userId,
          after?.value ?? null,
          after?.id ?? null,
          first + 1,
        ]);
        const edges = rows.slice(0, first).map((row) => ({
          cursor: encodeCursor({ value: row.sort_value, id: row.id }),
          node: { id: row.id, user: { id: row.user_id, email: row.email }, role: { key: row.role_key } },
        }));
        return { edges, pageInfo: { endCursor: edges.at(-1)?.cursor ?? null, hasNextPage: rows.length > first } };
      },
    },
  };

  const apollo = new ApolloServer<Context>({ typeDefs, resolvers });
  await apollo.start();
  const app = Fastify();
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.post(
    '/graphql',
    fastifyApolloHandler(apollo, {
      context: async (request) => ({ caller: await authenticate(request.headers.authorization) }),
    }),
  );
  await app.listen({ port: Number(env('BASELINE_PORT')), host: '127.0.0.1' });
  const stop = () =>
    void app
      .close()
      .then(() => pool.end())
      .finally(() => process.exit(0));
  process.on('SIGTERM', stop).on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
