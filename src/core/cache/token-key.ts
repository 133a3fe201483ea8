import { decodeJwt } from 'jose';
import { hashToken } from '../crypto/opaque-token';

/** A presented token's cache key: its SHA-256, so caches never hold the credential itself. */
export function tokenKey(token: string): string {
  return hashToken(token).toString('base64');
}

/** When a token that already verified expires (ms since the epoch); Infinity without `exp`. */
export function jwtExpiry(token: string): number {
  const { exp } = decodeJwt(token);
  return typeof exp === 'number' ? exp * 1000 : Infinity;
}
