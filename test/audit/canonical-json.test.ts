import { createHash } from 'node:crypto';
import { auditRecordHash, canonicalJson, type HashedAuditContent } from '../../src/core/audit/audit-hash';

/** The examples of RFC 8785 (JSON Canonicalization Scheme), sections 3.2.2 to 3.2.4 and Appendix B. */

/** §3.2.2's input as JSON text, escapes as the RFC prints them (String.raw keeps every backslash). */
const SAMPLE_INPUT = String.raw`{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`;

/** §3.2.2's canonical output, the RFC's line wrap removed. */
const SAMPLE_OUTPUT = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;

/** §3.2.4: the same output as UTF-8 bytes. */
const SAMPLE_OUTPUT_UTF8 = `
  7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
  75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
  5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
  65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
  5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
  30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`;

/** §3.2.3: names whose UTF-16 order differs from code point order (the emoji sorts before U+FB33). */
const SORTING_INPUT = String.raw`{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`;

/** Appendix B: IEEE 754 binary64 bit patterns and their canonical text. */
const NUMBER_SAMPLES: Array<[string, string]> = [
  ['0000000000000000', '0'],
  ['8000000000000000', '0'],
  ['0000000000000001', '5e-324'],
  ['8000000000000001', '-5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['ffefffffffffffff', '-1.7976931348623157e+308'],
  ['4340000000000000', '9007199254740992'],
  ['c340000000000000', '-9007199254740992'],
  ['4430000000000000', '295147905179352830000'],
  ['44b52d02c7e14af5', '9.999999999999997e+22'],
  ['44b52d02c7e14af6', '1e+23'],
  ['44b52d02c7e14af7', '1.0000000000000001e+23'],
  ['444b1ae4d6e2ef4e', '999999999999999700000'],
  ['444b1ae4d6e2ef4f', '999999999999999900000'],
  ['444b1ae4d6e2ef50', '1e+21'],
  ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ['3eb0c6f7a0b5ed8d', '0.000001'],
  ['41b3de4355555553', '333333333.3333332'],
  ['41b3de4355555554', '333333333.33333325'],
  ['41b3de4355555555', '333333333.3333333'],
  ['41b3de4355555556', '333333333.3333334'],
  ['41b3de4355555557', '333333333.33333343'],
  ['becbf647612f3696', '-0.0000033333333333333333'],
  ['43143ff3c1cb0959', '1424953923781206.2'],
];

/** Appendix B's two patterns that are no JSON number: NaN and Infinity. */
const NOT_NUMBERS = ['7fffffffffffffff', '7ff0000000000000'];

function binary64(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

describe('canonicalJson is RFC 8785 (JCS)', () => {
  it('serialises the §3.2.2 sample as the RFC prints it, and as the UTF-8 bytes of §3.2.4', () => {
    const canonical = canonicalJson(JSON.parse(SAMPLE_INPUT));
    expect(canonical).toBe(SAMPLE_OUTPUT);
    expect(Buffer.from(canonical, 'utf8').toString('hex')).toBe(SAMPLE_OUTPUT_UTF8.replace(/\s+/g, ''));
  });

  it('sorts member names by UTF-16 code units (§3.2.3)', () => {
    expect(canonicalJson(JSON.parse(SORTING_INPUT))).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each(NUMBER_SAMPLES)('writes the binary64 %s as %s (Appendix B)', (hex, text) => {
    expect(canonicalJson(binary64(hex))).toBe(text);
    expect(canonicalJson({ n: [binary64(hex)] })).toBe(`{"n":[${text}]}`);
  });

  it('refuses what is not I-JSON: NaN, Infinity and lone surrogates, at any depth', () => {
    for (const hex of NOT_NUMBERS) expect(() => canonicalJson({ n: [binary64(hex)] })).toThrow(/RFC 8785/);
    expect(() => canonicalJson(-Infinity)).toThrow(/RFC 8785/);
    expect(() => canonicalJson({ a: ['x\ud800'] })).toThrow(/lone surrogate/);
    expect(() => canonicalJson({ ['\udc00']: 1 })).toThrow(/lone surrogate/);
    expect(canonicalJson('\ud83d\ude00')).toBe('"\ud83d\ude00"');
  });
});

describe('auditRecordHash', () => {
  const record: HashedAuditContent = {
    id: '0b6f2a52-5a0e-4a4b-9b43-0c1f7a3e9d11',
    orgId: null,
    actorId: null,
    actorKind: 'ANONYMOUS',
    apiKeyId: null,
    action: 'auth.login_failed',
    targetType: 'User',
    targetId: null,
    ipAddress: '203.0.113.7',
    userAgent: 'curl/8.5.0',
    requestId: 'req-1',
    changes: { reason: 'bad password', email: 'zoë@example.com' },
    createdAt: '2026-01-31T12:00:00.123Z',
    prevHash: null,
  };

  it('is SHA-256, lowercase hex, of the UTF-8 canonical JSON, independent of key order', () => {
    const expected = createHash('sha256')
      .update(Buffer.from(canonicalJson(record), 'utf8'))
      .digest('hex');
    expect(auditRecordHash(record)).toBe(expected);
    expect(auditRecordHash(record)).toMatch(/^[0-9a-f]{64}$/);
    const reordered = Object.fromEntries(Object.entries(record).reverse()) as HashedAuditContent;
    expect(auditRecordHash({ ...reordered, changes: { email: 'zoë@example.com', reason: 'bad password' } })).toBe(
      expected,
    );
  });

  it('covers every field, nulls included', () => {
    const base = auditRecordHash(record);
    expect(auditRecordHash({ ...record, targetId: '' })).not.toBe(base);
    expect(auditRecordHash({ ...record, changes: { ...record.changes, reason: 'bad password ' } })).not.toBe(base);
    expect(auditRecordHash({ ...record, prevHash: 'a'.repeat(64) })).not.toBe(base);
  });
});
