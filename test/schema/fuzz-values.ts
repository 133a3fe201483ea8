import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
} from 'graphql';

/** The kinds of object an ID argument can name, guessed from its name (see `idKind`). */
export type IdKind =
  'org' | 'user' | 'role' | 'team' | 'group' | 'resource' | 'grant' | 'key' | 'invitation' | 'session' | 'any';

/** Real ids of each kind: in the callers' org, and in another org they have no part in. */
export type IdPools = { own: Record<IdKind, string[]>; other: Record<IdKind, string[]> };

/**
 * How one call's arguments are made: sound values, then each class of bad input in turn, then
 * seeded mixtures of everything.
 */
export const MODES = [
  'sound',
  'sound-with-optionals',
  'other-org-ids',
  'malformed-ids',
  'random-uuids',
  'hostile-strings',
  'boundary-numbers',
  'mixed',
  'mixed',
  'mixed',
] as const;
export type Mode = (typeof MODES)[number];

/** mulberry32: a small seeded generator, so every run walks the same calls. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const forgedCursor = (value: unknown, id: unknown) => Buffer.from(JSON.stringify([value, id])).toString('base64url');

const HOSTILE_STRINGS = [
  'nul\u0000byte',
  'lone \ud800 surrogate',
  'trailing \udfff',
  'x'.repeat(20_000),
  "' OR '1'='1' --",
  '"; DROP TABLE users; --',
  '%_\\%',
  'ǅ𝔘ñíçødé 👩‍👩‍👧 ‮rtl',
  '',
  '   ',
  '../../etc/passwd',
  '<script>alert(1)</script>',
];

const MALFORMED_IDS = ['not-an-id', "' OR 1=1 --", '', '0', 'x'.repeat(65), '00000000-0000-0000-0000-00000000000g'];

const BOUNDARY_INTS = [0, -1, 1, 100, 101, 3650, 3651, 86_401, 2_147_483_647, -2_147_483_648];

const BOUNDARY_DATES = ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '1970-01-01T00:00:00Z', 'not a date'];

const idKindsById: Array<[RegExp, IdKind]> = [
  [/team/i, 'team'],
  [/group/i, 'group'],
  [/role/i, 'role'],
  [/resource|access/i, 'resource'],
  [/key/i, 'key'],
  [/invitation/i, 'invitation'],
  [/session/i, 'session'],
  [/org/i, 'org'],
  [/user|member/i, 'user'],
];

/** Which kind of object an ID argument names: by its own name, or for `id` by the operation's. */
function idKind(fieldName: string, argName: string): IdKind {
  const name = argName.replace(/Ids?$/, '');
  const direct: Record<string, IdKind> = {
    org: 'org',
    user: 'user',
    principal: 'user',
    owner: 'user',
    actor: 'user',
    role: 'role',
    team: 'team',
    group: 'group',
    resource: 'resource',
    grant: 'grant',
    defaultOrg: 'org',
  };
  if (direct[name]) return direct[name];
  if (argName !== 'id') return 'any';
  return idKindsById.find(([pattern]) => pattern.test(fieldName))?.[1] ?? 'any';
}

/** Text that names something real: a resource of the callers' org, members' email addresses. */
export type KnownText = { resourceName: string; emails: string[] };

/** Sound text for a String argument, by its name. */
function soundText(name: string, counter: number, known: KnownText): string {
  const byName: Record<string, string> = {
    email: counter % 2 ? known.emails[counter % known.emails.length] : `fuzz${counter}@example.com`,
    password: 'a sound passphrase 42',
    newPassword: 'another sound passphrase 42',
    currentPassword: 'not the current passphrase',
    csv: `email,firstName\nfuzz-import-${counter}@example.com,Imported`,
    slug: `fuzz-${counter}`,
    search: 'a',
    role: 'viewer',
    resource: known.resourceName,
    after: forgedCursor('a', '00000000-0000-4000-8000-000000000000'),
    scopes: 'members:read',
    permissions: 'members:read',
  };
  return byName[name] ?? `Fuzz ${name} ${counter}`;
}

function soundInt(name: string): number {
  const byName: Record<string, number> = { first: 10, days: 30, maxUses: 3, expiresInSeconds: 3600 };
  return byName[name] ?? 0;
}

/** Argument values for one call of a schema field, seeded and reproducible. */
export class ArgumentGenerator {
  private counter = 0;

  constructor(
    private readonly random: () => number,
    private readonly ids: IdPools,
    private readonly known: KnownText,
  ) {}

  /**
   * For a paged field, one call per kind of forged cursor, each with every optional argument (so
   * with an order whose sort value the cursor must match); none for other fields.
   */
  forgedCursorCalls(field: GraphQLField<unknown, unknown>): Array<Record<string, unknown>> {
    if (!field.args.some((arg) => arg.name === 'after')) return [];
    return this.forgedCursors().map((after) => ({ ...this.args(field, 'sound-with-optionals'), after }));
  }

  args(field: GraphQLField<unknown, unknown>, mode: Mode): Record<string, unknown> {
    this.counter += 1;
    const values: Record<string, unknown> = {};
    for (const arg of field.args) {
      const value = this.argument(field.name, arg, mode);
      if (value !== undefined) values[arg.name] = value;
    }
    return values;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  private randomUuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.random() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }

  private argument(fieldName: string, arg: GraphQLArgument, mode: Mode): unknown {
    const required = isNonNullType(arg.type);
    const includeOptional = mode === 'sound-with-optionals' || (mode !== 'sound' && this.random() < 0.6);
    if (!required && !includeOptional) return undefined;
    return this.value(fieldName, arg.name, arg.type, mode);
  }

  private value(fieldName: string, name: string, type: GraphQLInputType, mode: Mode): unknown {
    if (isNonNullType(type)) return this.value(fieldName, name, type.ofType, mode);
    if (isListType(type)) {
      const length = mode === 'sound' ? 1 : this.pick([0, 1, 3]);
      return Array.from({ length }, () => this.value(fieldName, name, type.ofType, mode));
    }
    if (isInputObjectType(type)) {
      const object: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) {
        const required = isNonNullType(field.type);
        const include = required || mode === 'sound-with-optionals' || (mode !== 'sound' && this.random() < 0.6);
        if (include) object[field.name] = this.value(fieldName, field.name, field.type, mode);
      }
      return object;
    }
    if (isEnumType(type)) return this.pick(type.getValues()).value;
    const named = getNamedType(type).name;
    const effective = mode === 'mixed' ? this.pick(MODES.slice(0, 7)) : mode;
    switch (named) {
      case 'ID':
        return this.id(fieldName, name, effective);
      case 'String':
        if (name === 'after') {
          return effective.startsWith('sound')
            ? soundText(name, this.counter, this.known)
            : this.pick(this.forgedCursors());
        }
        // A role filter takes a key or an id; a resource, a name or an id.
        if ((name === 'role' || name === 'resource') && this.random() < 0.5) {
          return this.id(fieldName, name, effective);
        }
        return effective === 'hostile-strings' ? this.pick(HOSTILE_STRINGS) : soundText(name, this.counter, this.known);
      case 'Int':
        return effective === 'boundary-numbers' ? this.pick(BOUNDARY_INTS) : soundInt(name);
      case 'Boolean':
        return this.random() < 0.5;
      case 'DateTimeISO':
        return effective === 'boundary-numbers'
          ? this.pick(BOUNDARY_DATES)
          : new Date(Date.UTC(2030, 0, 1 + this.counter)).toISOString();
      default:
        throw new Error(`no generator for the scalar ${named} (argument ${name} of ${fieldName})`);
    }
  }

  private id(fieldName: string, name: string, mode: Mode): string {
    const kind = idKind(fieldName, name);
    const own = this.ids.own[kind].length ? this.ids.own[kind] : this.ids.own.any;
    const other = this.ids.other[kind].length ? this.ids.other[kind] : this.ids.other.any;
    switch (mode) {
      case 'other-org-ids':
        return this.pick(other);
      case 'malformed-ids':
        return this.pick(MALFORMED_IDS);
      case 'random-uuids':
        return this.randomUuid();
      case 'hostile-strings':
        return this.pick(HOSTILE_STRINGS);
      default:
        return this.pick(own);
    }
  }

  /** Cursors a client could forge: wrong sort values, ids, shapes and encodings. */
  private forgedCursors(): string[] {
    return [
      forgedCursor('not a date', this.randomUuid()),
      forgedCursor('99999999999999999999', this.randomUuid()),
      forgedCursor('9223372036854775808', this.randomUuid()),
      forgedCursor('2024-02-30 10:00:00+00', this.randomUuid()),
      forgedCursor('12', this.randomUuid()),
      forgedCursor(null, this.randomUuid()),
      forgedCursor('a\u0000b', this.randomUuid()),
      forgedCursor('x', 'not-a-uuid'),
      forgedCursor({ value: 1 }, [1]),
      'not base64 at all!',
      Buffer.from('{"broken json').toString('base64url'),
      '',
    ];
  }
}
