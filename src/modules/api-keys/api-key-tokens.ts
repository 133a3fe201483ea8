import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { SIGNING_ALGORITHM, type SigningKeyStore } from '../auth/signing-keys.service';

/**
 * API keys are JWTs signed by the gateway's key, with their own `typ` and audience: an access
 * token is never accepted as a key, nor a key as an access token.
 */
export const API_KEY_TYPE = 'api-key+jwt';
export const apiKeyAudience = (audience: string) => `${audience}:api-key`;

export type ApiKeyClaims = { keyId: string; ownerId: string; orgId: string; scopes: string[] };

export class ApiKeyTokens {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly options: { issuer: string; audience: string },
  ) {}

  /** No `exp` unless the key has an expiry; revocation and rotation are checked in the database. */
  async issue(claims: ApiKeyClaims, expiresAt: Date | null): Promise<string> {
    const { kid, privateKey } = this.keys.signingKey();
    const jwt = new SignJWT({ org: claims.orgId, scp: claims.scopes })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: API_KEY_TYPE })
      .setIssuer(this.options.issuer)
      .setAudience(apiKeyAudience(this.options.audience))
      .setSubject(claims.ownerId)
      .setJti(claims.keyId)
      .setIssuedAt();
    if (expiresAt) jwt.setExpirationTime(Math.floor(expiresAt.getTime() / 1000));
    return jwt.sign(privateKey);
  }

  /** The claims of a well-signed key token, or null; the database decides whether it still works. */
  async verify(token: string): Promise<ApiKeyClaims | null> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.keys.verificationKey(header.kid), {
        algorithms: [SIGNING_ALGORITHM],
        typ: API_KEY_TYPE,
        issuer: this.options.issuer,
        audience: apiKeyAudience(this.options.audience),
        requiredClaims: ['sub', 'jti', 'org', 'scp'],
      });
      const { sub, jti, org, scp } = payload;
      if (typeof sub !== 'string' || typeof jti !== 'string' || typeof org !== 'string' || !Array.isArray(scp))
        return null;
      return {
        keyId: jti,
        ownerId: sub,
        orgId: org,
        scopes: scp.filter((scope): scope is string => typeof scope === 'string'),
      };
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return null;
      throw error;
    }
  }
}
