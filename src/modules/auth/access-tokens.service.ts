import { randomUUID } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { SIGNING_ALGORITHM, type SigningKeyStore } from './signing-keys.service';

/** RFC 9068's media type for JWT access tokens; API keys use a different `typ` and audience. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export type AccessTokenClaims = {
  userId: string;
  sessionId: string;
  orgId: string | null;
};

export type IssuedAccessToken = { token: string; expiresAt: Date };

export class AccessTokenService {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly options: { issuer: string; audience: string; ttlSeconds: number },
  ) {}

  async issue(claims: AccessTokenClaims): Promise<IssuedAccessToken> {
    const { kid, privateKey } = this.keys.signingKey();
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + this.options.ttlSeconds;
    const token = await new SignJWT({ sid: claims.sessionId, ...(claims.orgId ? { org: claims.orgId } : {}) })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(claims.userId)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(privateKey);
    return { token, expiresAt: new Date(expiresAt * 1000) };
  }

  /**
   * Verifies signature, algorithm, type, issuer, audience and lifetime. The key comes only from our
   * own store by `kid`: `jku`, `x5u` and embedded `jwk` headers are never consulted.
   */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.keys.verificationKey(header.kid), {
        algorithms: [SIGNING_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        issuer: this.options.issuer,
        audience: this.options.audience,
        requiredClaims: ['sub', 'sid', 'exp', 'iat', 'jti'],
      });
      return toClaims(payload);
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return null;
      throw error;
    }
  }
}

function toClaims(payload: JWTPayload): AccessTokenClaims | null {
  const { sub, sid, org } = payload;
  if (typeof sub !== 'string' || typeof sid !== 'string') return null;
  return { userId: sub, sessionId: sid, orgId: typeof org === 'string' ? org : null };
}
