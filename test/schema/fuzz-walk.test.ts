import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  astFromValue,
  buildSchema,
  getNamedType,
  isInterfaceType,
  isLeafType,
  isNonNullType,
  isObjectType,
  print,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import { addMember, createOrgAs, createUser, MEMBER_PASSWORD, person, type Person } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { ArgumentGenerator, MODES, seededRandom, type IdKind, type IdPools } from './fuzz-values';

/**
 * Walks every Query and Mutation field of schema.graphql with generated arguments — sound values,
 * other orgs' ids, malformed ids, hostile strings, boundary numbers, forged cursors — as an org
 * owner, a viewer of that org and anonymously. Whatever the input, the answer is a catalogued error
 * or data: never INTERNAL_SERVER_ERROR, never HTTP 5xx.
 */
/** Fixed, so every run makes the same calls; FUZZ_SEED explores other ones. */
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_515);
const schema = buildSchema(readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));

/** Answers meaning the caller's own token no longer works (e.g. a call ended the session). */
const TOKEN_ENDED = new Set(['auth.invalid_token', 'auth.unauthenticated']);

type Caller = { name: 'anonymous' | 'viewer' | 'owner'; email?: string; token?: string };
type Failure = { field: string; as: string; mode: string; query: string; variables: string; answer: string };

let server: TestGateway;
let dataDir: string;
let owner: Person;
let viewer: Person;
let pools: IdPools;
let resourceName: string;
let ownOrgId: string;
const knownEmails: string[] = [];
const COPIES = 3;

async function mutate(token: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const response = await server.graphql(query, variables, { token });
  return response.data ?? null;
}

/** An object of each kind in an org, made through the API as its owner. */
async function populate(token: string, orgId: string, memberId: string, name: string): Promise<void> {
  const viewerRole = (await server.sql(`SELECT id FROM roles WHERE org_id = $1 AND key = 'viewer'`, [orgId]))[0].id;
  const input = (extra: Record<string, unknown>) => ({ input: { orgId, ...extra } });
  await mutate(token, 'mutation ($input: CreateTeamInput!) { createTeam(input: $input) { id } }', input({ name }));
  await mutate(token, 'mutation ($input: CreateGroupInput!) { createGroup(input: $input) { id } }', input({ name }));
  await mutate(
    token,
    'mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }',
    input({ name, permissions: ['members:read'] }),
  );
  const resource = await mutate(
    token,
    'mutation ($input: CreateResourceInput!) { createResource(input: $input) { id } }',
    input({ name }),
  );
  if (resource) {
    await mutate(
      token,
      'mutation ($r: ID!, $p: ID!) { grantAccess(resourceId: $r, principalId: $p, level: READ) { id } }',
      { r: resource.createResource.id, p: memberId },
    );
  }
  const account = await mutate(
    token,
    'mutation ($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }',
    input({ name: `${name} robot`, roleId: viewerRole }),
  );
  if (account) {
    await mutate(token, 'mutation ($input: CreateKeyInput!) { createKey(input: $input) { token } }', {
      input: { name, ownerId: account.createServiceAccount.id, scopes: ['members:read'], orgId },
    });
  }
  await mutate(token, 'mutation ($input: InviteInput!) { invite(input: $input) { id } }', {
    input: { orgId, roleId: viewerRole, email: `invitee.${name.toLowerCase()}@example.com` },
  });
  await mutate(token, 'mutation ($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { token } }', {
    input: { orgId, roleId: viewerRole },
  });
}

const POOL_QUERIES: Record<Exclude<IdKind, 'any'>, string> = {
  org: 'SELECT id FROM orgs WHERE id = $1',
  user: 'SELECT user_id AS id FROM memberships WHERE org_id = $1 AND NOT (user_id = ANY($2))',
  role: 'SELECT id FROM roles WHERE org_id = $1',
  team: 'SELECT id FROM teams WHERE org_id = $1',
  group: 'SELECT id FROM groups WHERE org_id = $1',
  resource: 'SELECT id FROM resources WHERE org_id = $1',
  grant: 'SELECT g.id FROM access_grants g JOIN resources r ON r.id = g.resource_id WHERE r.org_id = $1',
  key: 'SELECT id FROM api_keys WHERE org_id = $1',
  invitation: 'SELECT id FROM invitations WHERE org_id = $1',
  session:
    'SELECT s.id FROM sessions s JOIN memberships m ON m.user_id = s.user_id WHERE m.org_id = $1 AND NOT (s.user_id = ANY($2))',
};

/** Ids of every kind in one org; the callers' own accounts and sessions are left out, so no call locks them out. */
async function idsOf(orgId: string, callers: string[]): Promise<Record<IdKind, string[]>> {
  const ids = { any: [] } as unknown as Record<IdKind, string[]>;
  for (const [kind, sql] of Object.entries(POOL_QUERIES)) {
    const rows = await server.sql<{ id: string }>(sql, sql.includes('$2') ? [orgId, callers] : [orgId]);
    ids[kind as IdKind] = rows.map((row) => row.id).sort();
    ids.any.push(...ids[kind as IdKind]);
  }
  return ids;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'portcullis-fuzz-'));
  server = await startTestGateway({ DATA_DIR: dataDir });
  owner = await person(server, 'fuzz-owner');
  const orgId = await createOrgAs(server, owner.token, 'Fuzz Org');
  ownOrgId = orgId;
  viewer = await person(server, 'fuzz-viewer', { orgId, role: 'viewer' });
  const superUser = await server.login();
  const [other] = await server.sql<{ id: string }>(`SELECT id FROM orgs WHERE name = 'Acme'`);
  // Several of each, so that deleting one early in the walk leaves others for later calls.
  for (let copy = 1; copy <= COPIES; copy += 1) {
    const email = `fuzz-target-${copy}@example.com`;
    knownEmails.push(email);
    const target = await createUser(server, email, { firstName: `Target ${copy}` });
    await addMember(server, orgId, target, 'editor');
    await server.login(email, MEMBER_PASSWORD);
    await populate(owner.token, orgId, target, `Fuzz ${copy}`);
    await populate(superUser.accessToken, other.id, superUser.userId, `Other ${copy}`);
  }

  pools = { own: await idsOf(orgId, [owner.id, viewer.id]), other: await idsOf(other.id, []) };
  resourceName = 'Fuzz 1';
});

afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Scalars of the return type, one level deep: enough to make every resolver of the field run. */
function selection(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (!isObjectType(named) && !isInterfaceType(named)) return '{ __typename }';
  const leaves = Object.values(named.getFields())
    .filter((field) => isLeafType(getNamedType(field.type)) && field.args.every((arg) => !isNonNullType(arg.type)))
    .map((field) => field.name);
  return `{ __typename ${leaves.join(' ')} }`;
}

/** A field the walk calls: a root field, or a field with arguments reached through `entry`. */
type Target = { operation: 'query' | 'mutation'; field: GraphQLField<unknown, unknown>; entry?: string };

/** Arguments inline as literals where they can be printed, otherwise as variables. */
function document({ operation, field, entry }: Target, args: Record<string, unknown>, literal: boolean) {
  const inline: string[] = [];
  const definitions: string[] = [];
  const variables: Record<string, unknown> = {};
  for (const arg of field.args.filter((candidate) => candidate.name in args)) {
    let printed: string | null = null;
    if (literal) {
      try {
        const ast = astFromValue(args[arg.name], arg.type);
        printed = ast ? print(ast) : null;
      } catch {
        printed = null;
      }
    }
    if (printed !== null) {
      inline.push(`${arg.name}: ${printed}`);
    } else {
      definitions.push(`$${arg.name}: ${String(arg.type)}`);
      inline.push(`${arg.name}: $${arg.name}`);
      variables[arg.name] = args[arg.name];
    }
  }
  const head = definitions.length ? `${operation} Fuzz(${definitions.join(', ')})` : `${operation} Fuzz`;
  const call = inline.length ? `${field.name}(${inline.join(', ')})` : field.name;
  const selected = `${call} ${selection(field.type)}`;
  // An entry through `node(id)` holds `{}` where its type condition takes the selection.
  const entered = entry?.includes('{}') ? entry.replace('{}', `{ ${selected} }`) : `${entry} { ${selected} }`;
  return { query: `${head} { ${entry ? `entry: ${entered}` : selected} }`, variables };
}

async function send(query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: any }> } = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
  }
  return { status: response.status, body };
}

/** A caller whose token stopped working (a call ended its session) signs in again, if it still can. */
async function renew(caller: Caller): Promise<void> {
  const response = await server.graphql(
    'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    { email: caller.email, password: MEMBER_PASSWORD },
  );
  if (response.data?.login) caller.token = response.data.login.accessToken;
}

/** Operations that take something away run last, deletions at the very end, so the rest find objects there. */
const TAKES_AWAY = /^(remove|revoke|lock|deactivate|logout|prune)/;

function rootFields(type: GraphQLObjectType | null | undefined) {
  const rank = (name: string) => (name.startsWith('delete') ? 2 : TAKES_AWAY.test(name) ? 1 : 0);
  return Object.values(type?.getFields() ?? {}).sort(
    (a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name),
  );
}

/** Every field with arguments below the root, reached from an object of the callers' org. */
function nestedTargets(): Target[] {
  const byNode = (type: string, id: string) => `node(id: "${id}") { ... on ${type} {} }`;
  const entries: Record<string, string> = {
    User: 'me',
    Org: `org(id: "${ownOrgId}")`,
    Team: byNode('Team', pools.own.team[0]),
    Group: byNode('Group', pools.own.group[0]),
    Resource: byNode('Resource', pools.own.resource[0]),
  };
  const roots = [schema.getQueryType(), schema.getMutationType()];
  return Object.values(schema.getTypeMap())
    .filter((type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'))
    .filter((type) => !roots.includes(type))
    .flatMap((type) =>
      Object.values(type.getFields())
        .filter((field) => field.args.length > 0)
        .map((field) => {
          // A new type with arguments on its fields needs a way in, or the walk would skip it.
          if (!entries[type.name]) throw new Error(`no entry to walk ${type.name}.${field.name}`);
          return { operation: 'query' as const, field, entry: entries[type.name] };
        }),
    );
}

describe('every Query and Mutation field, with generated arguments', () => {
  it('answers every caller with data or a catalogued error, never an internal error', async () => {
    const random = seededRandom(SEED);
    const generator = new ArgumentGenerator(random, pools, { resourceName, emails: knownEmails });
    const callers: Caller[] = [
      { name: 'anonymous' },
      { name: 'viewer', email: viewer.email, token: viewer.token },
      { name: 'owner', email: owner.email, token: owner.token },
    ];
    const failures: Failure[] = [];
    const answered = new Set<string>();
    const targets: Target[] = [
      ...rootFields(schema.getQueryType()).map((field) => ({ operation: 'query' as const, field })),
      ...nestedTargets(),
      ...rootFields(schema.getMutationType()).map((field) => ({ operation: 'mutation' as const, field })),
    ];

    for (const target of targets) {
      const { field } = target;
      const entryName = target.entry?.match(/\.\.\. on (\w+)/)?.[1] ?? target.entry?.replace(/\(.*/, '');
      const name = `${entryName ? `${entryName}.` : `${target.operation}.`}${field.name}`;
      const calls = [
        ...MODES.map((mode) => ({ mode, args: generator.args(field, mode) })),
        ...generator.forgedCursorCalls(field).map((args) => ({ mode: 'forged-cursor', args })),
      ];
      for (const [index, { mode, args }] of calls.entries()) {
        const literal = index % 2 === 1;
        const { query, variables } = document(target, args, literal);
        for (const caller of callers) {
          let { status, body } = await send(query, variables, caller.token);
          if (caller.token && TOKEN_ENDED.has(body.errors?.[0]?.extensions?.reason)) {
            await renew(caller);
            ({ status, body } = await send(query, variables, caller.token));
          }
          const data = target.entry ? (body.data?.entry as Record<string, unknown> | undefined) : body.data;
          if (data?.[field.name] != null) answered.add(name);
          // A value the database refused is answered as bad input, but means validation has a gap.
          const internal = body.errors?.find(
            (error) =>
              error.extensions?.code === 'INTERNAL_SERVER_ERROR' ||
              error.extensions?.reason === 'request.invalid_value',
          );
          const uncatalogued = body.errors?.some((error) => !error.extensions?.code);
          if (status >= 500 || internal || uncatalogued) {
            failures.push({
              field: name,
              as: caller.name,
              mode,
              query: query.slice(0, 300),
              variables: JSON.stringify(variables).slice(0, 300),
              answer: `${status} ${JSON.stringify(body.errors ?? body).slice(0, 300)}`,
            });
          }
        }
      }
    }

    expect(failures).toEqual([]);
    // The walk reaches the resolvers: most fields answer data for at least one caller and input.
    expect(answered.size).toBeGreaterThan(targets.length / 2);
    // Every connection's first/after adds calls: some hundreds of requests, each a few milliseconds.
  }, 300_000);
});
