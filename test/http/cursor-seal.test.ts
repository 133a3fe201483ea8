import { decodeCursor, encodeCursor } from '../../src/core/graphql/connection';

const ID = '6f1d2c3b-4a59-4e7f-8a1b-2c3d4e5f6a7b';

describe('sealed cursors', () => {
  it('use a fresh IV for every cursor, past the bulk-drawn pool, and each opens to its position', () => {
    // More cursors than one pool of IVs holds, all for the same position: any IV used twice would
    // seal the same position to the same text.
    const sealed = Array.from({ length: 2000 }, () => encodeCursor('members:EMAIL:ASC', { value: 'a@b.c', id: ID }));
    expect(new Set(sealed).size).toBe(sealed.length);
    expect(new Set(sealed.map((cursor) => Buffer.from(cursor, 'base64url').subarray(0, 12).toString('hex'))).size).toBe(
      sealed.length,
    );
    for (const cursor of [sealed[0], sealed[511], sealed[512], sealed[1999]]) {
      expect(decodeCursor('members:EMAIL:ASC', cursor)).toEqual({ value: 'a@b.c', id: ID });
      expect(decodeCursor('members:EMAIL:DESC', cursor)).toBeNull();
    }
  });
});
