import { createPrivateKey, sign } from 'node:crypto';
import { compactVerify, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { signCompactJws } from '../../src/modules/auth/signing-keys.service';

/** Access tokens are signed by node:crypto, not jose; jose (as any client would) must accept them. */
describe('signCompactJws', () => {
  async function activeKey() {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const signer = createPrivateKey({ key: await exportJWK(privateKey), format: 'jwk' });
    return { key: { kid: 'key-1', privateKey, signer }, publicKey };
  }

  it('signs a JWT that jose verifies, with the header and claims as given', async () => {
    const { key, publicKey } = await activeKey();
    const token = signCompactJws(
      key,
      { alg: 'ES256', kid: key.kid, typ: 'at+jwt' },
      { sub: 'user', iss: 'issuer', aud: 'audience', exp: Math.floor(Date.now() / 1000) + 60 },
    );
    const { payload, protectedHeader } = await jwtVerify(token, publicKey, {
      algorithms: ['ES256'],
      typ: 'at+jwt',
      issuer: 'issuer',
      audience: 'audience',
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: 'key-1', typ: 'at+jwt' });
    expect(payload.sub).toBe('user');
    // RFC 7518 §3.4: r || s, 64 bytes for P-256.
    expect(Buffer.from(token.split('.')[2], 'base64url')).toHaveLength(64);
  });

  it('is refused by the verifier when one byte of the payload changes', async () => {
    const { key, publicKey } = await activeKey();
    const [header, payload, signature] = signCompactJws(key, { alg: 'ES256' }, { sub: 'user' }).split('.');
    const edited = Buffer.from(JSON.stringify({ sub: 'usep' })).toString('base64url');
    expect(edited).not.toBe(payload);
    await expect(compactVerify(`${header}.${edited}.${signature}`, publicKey)).rejects.toThrow();
  });

  it('would be refused with a DER signature, the encoding node:crypto uses unless told otherwise', async () => {
    const { key, publicKey } = await activeKey();
    const [header, payload] = signCompactJws(key, { alg: 'ES256' }, { sub: 'user' }).split('.');
    const der = sign('sha256', Buffer.from(`${header}.${payload}`), key.signer).toString('base64url');
    await expect(compactVerify(`${header}.${payload}.${der}`, publicKey)).rejects.toThrow();
  });
});
