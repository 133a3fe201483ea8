import { AppError } from '../../core/errors/app-error';
import { OAuthClientKind, OAuthGrantType } from './oauth-client.entity';

export type ClientSettings = { type: OAuthClientKind; redirectUris: string[]; grantTypes: OAuthGrantType[] };

/** RFC 8252 §7.3: plain http only to the device itself, where nothing on the network sees the code. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** RFC 8252 §7.1: a private-use scheme is a reversed domain name the app's publisher controls. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

/**
 * Why a redirect URI cannot be registered, or null when it can. URIs are matched exactly by the
 * provider, so a fragment (never sent to a server) or a wildcard could never match safely.
 */
function redirectUriProblem(raw: string, type: OAuthClientKind): string | null {
  let uri: URL;
  try {
    uri = new URL(raw);
  } catch {
    return 'is not an absolute URL';
  }
  if (raw.includes('#')) return 'has a fragment';
  if (raw.includes('*')) return 'has a wildcard';
  if (uri.username || uri.password) return 'carries credentials';
  if (uri.protocol === 'https:') return uri.hostname ? null : 'has no host';
  if (uri.protocol === 'http:') return LOOPBACK_HOSTS.has(uri.hostname) ? null : 'uses http on a non-loopback host';
  if (!PRIVATE_USE_SCHEME.test(uri.protocol)) return 'uses a scheme that is neither https nor a reversed domain name';
  return type === OAuthClientKind.PUBLIC ? null : 'uses a private-use scheme, which only a PUBLIC native client may';
}

/** The settings as stored: duplicates dropped, or a BAD_USER_INPUT naming the field at fault. */
export function checkedSettings(settings: ClientSettings): ClientSettings {
  for (const uri of settings.redirectUris) {
    const problem = redirectUriProblem(uri, settings.type);
    if (problem) {
      throw new AppError('oauth_client.invalid_redirect_uri', {
        field: 'redirectUris',
        message: `Redirect URI ${JSON.stringify(uri)} ${problem}`,
      });
    }
  }
  const grants = new Set(settings.grantTypes);
  if (grants.has(OAuthGrantType.CLIENT_CREDENTIALS) && settings.type !== OAuthClientKind.CONFIDENTIAL) {
    throw new AppError('oauth_client.grant_not_allowed', {
      field: 'grantTypes',
      message: 'CLIENT_CREDENTIALS needs a CONFIDENTIAL client: a PUBLIC one has no secret to authenticate with',
    });
  }
  if (grants.has(OAuthGrantType.REFRESH_TOKEN) && !grants.has(OAuthGrantType.AUTHORIZATION_CODE)) {
    throw new AppError('oauth_client.grant_not_allowed', {
      field: 'grantTypes',
      message: 'REFRESH_TOKEN needs AUTHORIZATION_CODE: refresh tokens come only from a user’s authorization',
    });
  }
  return {
    type: settings.type,
    redirectUris: [...new Set(settings.redirectUris)],
    grantTypes: Object.values(OAuthGrantType).filter((grant) => grants.has(grant)),
  };
}
