import { PasswordHasher } from '../../src/core/crypto/password-hasher';

const hasher = new PasswordHasher(4);

describe('PasswordHasher', () => {
  it('verifies the password it hashed and nothing else', async () => {
    const hash = await hasher.hash('a perfectly fine password');
    expect(hash).toMatch(/^\$2[aby]\$04\$/);
    await expect(hasher.verify('a perfectly fine password', hash)).resolves.toMatchObject({ matches: true });
    await expect(hasher.verify('a perfectly fine passwort', hash)).resolves.toMatchObject({ matches: false });
  });

  it('distinguishes passwords that differ only after byte 72', async () => {
    const shared = 'x'.repeat(72);
    const hash = await hasher.hash(`${shared}A`);
    await expect(hasher.verify(`${shared}B`, hash)).resolves.toMatchObject({ matches: false });
    await expect(hasher.verify(shared, hash)).resolves.toMatchObject({ matches: false });
    await expect(hasher.verify(`${shared}A`, hash)).resolves.toMatchObject({ matches: true });
  });

  it('distinguishes multi-byte passwords that share their first 72 bytes', async () => {
    const shared = 'é'.repeat(36); // 72 bytes in UTF-8
    const hash = await hasher.hash(`${shared}ü`);
    await expect(hasher.verify(`${shared}ö`, hash)).resolves.toMatchObject({ matches: false });
    await expect(hasher.verify(`${shared}ü`, hash)).resolves.toMatchObject({ matches: true });
  });

  it('is not cut short by a NUL character', async () => {
    const hash = await hasher.hash('before\u0000after-one');
    await expect(hasher.verify('before\u0000after-two', hash)).resolves.toMatchObject({ matches: false });
  });

  it('matches the same text in composed and decomposed Unicode forms', async () => {
    const hash = await hasher.hash('caf\u00e9 au lait, bitte');
    await expect(hasher.verify('cafe\u0301 au lait, bitte', hash)).resolves.toMatchObject({ matches: true });
  });

  it('never verifies against a missing hash, yet still spends a comparison', async () => {
    await expect(hasher.verify('anything', null)).resolves.toMatchObject({ matches: false });
    await expect(hasher.verify('decoy password that never matches', undefined)).resolves.toMatchObject({
      matches: false,
    });
  });
});
