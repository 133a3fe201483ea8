import { randomUUID } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { SIGNING_ALGORITHM, type SigningKeyStore } from './signing-keys.service';

/** RFC 9068's media type for JWT access tokens; API keys use a different `typ` and audience. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * RFC 9068 requires `client_id`; sessions opened by GraphQL `login`, `refreshSession` and
 * `acceptInvitation` belong to the gateway's own first-party app. No registered OAuth client may
 * ever be given this id: a token carrying it is verified here as a session with full rights.
 */
export const FIRST_PARTY_CLIENT_ID = 'portcullis';

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
    // No `scope`: RFC 9068 §2.2.3 asks for one only when the authorization request named scopes, and
    // a session is not bounded by scopes — it acts with its holder's current rights, re-read per request.
    const token = await new SignJWT({
      client_id: FIRST_PARTY_CLIENT_ID,
      sid: claims.sessionId,
      ...(claims.orgId ? { org: claims.orgId } : {}),
    })
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
   * own store by `kid`: `jku`, `x5u` and embedded `jwk` headers are never consulted. A token of
   * another client is never a session; one without `client_id` was issued before tokens took RFC
   * 9068 form and stays valid for the rest of its short lifetime, so `client_id` is not required yet.
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
  const { sub, sid, org, client_id: clientId } = payload;
  if (typeof sub !== 'string' || typeof sid !== 'string') return null;
  if (clientId !== undefined && clientId !== FIRST_PARTY_CLIENT_ID) return null;
  return { userId: sub, sessionId: sid, orgId: typeof org === 'string' ? org : null };
}
