import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';

/** A presented token's cache key: its SHA-256, so caches never hold the credential itself. */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64');
}

/** When a token that already verified expires (ms since the epoch); Infinity without `exp`. */
export function jwtExpiry(token: string): number {
  const { exp } = decodeJwt(token);
  return typeof exp === 'number' ? exp * 1000 : Infinity;
}
