import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { generateOpaqueToken, hashToken } from '../../core/crypto/opaque-token';
import { findLockedOrFail, saveUnique } from '../../core/db/rows';
import { AppError } from '../../core/errors/app-error';
import { lockOrg } from '../roles/role-rank';
import { checkedSettings } from './client-settings';
import { OAuthClientEntity, OAuthClientKind, type OAuthGrantType } from './oauth-client.entity';

export type NewOAuthClient = {
  orgId: string;
  name: string;
  type: OAuthClientKind;
  redirectUris: string[];
  scopes: string[];
  grantTypes: OAuthGrantType[];
};

export type OAuthClientChanges = {
  name?: string | null;
  redirectUris?: string[] | null;
  scopes?: string[] | null;
  grantTypes?: OAuthGrantType[] | null;
};

export type IssuedOAuthClient = { client: OAuthClientEntity; clientSecret: string | null };

const UNIQUE_NAME = {
  index: 'oauth_clients_org_name_key',
  conflict: 'oauth_client.name_in_use',
  field: 'name',
} as const;

/**
 * 24 random bytes: 32 url-safe characters, not guessable from the row. It can never be the
 * first-party `portcullis` (FIRST_PARTY_CLIENT_ID), which a CHECK constraint also refuses.
 */
function newClientId(): string {
  return randomBytes(24).toString('base64url');
}

/** The fields an audit record shows: never the secret or its hash. */
function described(client: OAuthClientEntity) {
  return {
    name: client.name,
    clientId: client.clientId,
    type: client.type,
    redirectUris: client.redirectUris,
    scopes: client.scopes,
    grantTypes: client.grantTypes,
  };
}

/**
 * The registry of OAuth clients per org, which the OpenID Connect provider reads. The shield rules
 * have checked clients:write in the client's org and that every permission scope is the caller's.
 */
export class OAuthClientsService {
  async createClient(tx: EntityManager, actor: AuditActor, input: NewOAuthClient): Promise<IssuedOAuthClient> {
    const settings = checkedSettings(input);
    if (!(await lockOrg(tx, input.orgId))) throw new AppError('org.not_found');
    const clientSecret = settings.type === OAuthClientKind.CONFIDENTIAL ? generateOpaqueToken() : null;
    const client = await saveUnique(
      tx,
      tx.create(OAuthClientEntity, {
        orgId: input.orgId,
        clientId: newClientId(),
        name: input.name.trim(),
        ...settings,
        scopes: [...new Set(input.scopes)].sort(),
        secretHash: clientSecret === null ? null : hashToken(clientSecret),
        createdById: actor.actorId,
      }),
      UNIQUE_NAME,
    );
    await this.audit(tx, actor, client, 'oauth_client.created', { after: described(client) });
    return { client: await this.reread(tx, client.id), clientSecret };
  }

  async updateClient(
    tx: EntityManager,
    actor: AuditActor,
    id: string,
    changes: OAuthClientChanges,
  ): Promise<OAuthClientEntity> {
    const client = await findLockedOrFail(tx, OAuthClientEntity, id, 'oauth_client.not_found');
    const before = described(client);
    const settings = checkedSettings({
      type: client.type,
      redirectUris: changes.redirectUris ?? client.redirectUris,
      grantTypes: changes.grantTypes ?? client.grantTypes,
    });
    client.name = changes.name?.trim() ?? client.name;
    client.redirectUris = settings.redirectUris;
    client.grantTypes = settings.grantTypes;
    client.scopes = changes.scopes ? [...new Set(changes.scopes)].sort() : client.scopes;
    const after = described(client);
    if (JSON.stringify(after) === JSON.stringify(before)) return client;
    await saveUnique(tx, client, UNIQUE_NAME);
    await this.audit(tx, actor, client, 'oauth_client.updated', { before, after });
    return this.reread(tx, client.id);
  }

  async deleteClient(tx: EntityManager, actor: AuditActor, id: string): Promise<boolean> {
    const client = await findLockedOrFail(tx, OAuthClientEntity, id, 'oauth_client.not_found');
    await tx.delete(OAuthClientEntity, { id: client.id });
    await this.audit(tx, actor, client, 'oauth_client.deleted', { before: described(client) });
    return true;
  }

  /** The new secret replaces the old one in the same row: the old one stops working at commit. */
  async rotateSecret(tx: EntityManager, actor: AuditActor, id: string): Promise<IssuedOAuthClient> {
    const client = await findLockedOrFail(tx, OAuthClientEntity, id, 'oauth_client.not_found');
    if (client.type !== OAuthClientKind.CONFIDENTIAL) throw new AppError('oauth_client.no_secret', { field: 'id' });
    const clientSecret = generateOpaqueToken();
    await tx.update(
      OAuthClientEntity,
      { id: client.id },
      { secretHash: hashToken(clientSecret), secretRotatedAt: new Date() },
    );
    await this.audit(tx, actor, client, 'oauth_client.secret_rotated', { after: { clientId: client.clientId } });
    return { client: await this.reread(tx, client.id), clientSecret };
  }

  private reread(tx: EntityManager, id: string): Promise<OAuthClientEntity> {
    return tx.findOneByOrFail(OAuthClientEntity, { id });
  }

  private async audit(
    tx: EntityManager,
    actor: AuditActor,
    client: OAuthClientEntity,
    action: string,
    changes: Record<string, unknown>,
  ): Promise<void> {
    await recordAudit(tx, actor, {
      action,
      orgId: client.orgId,
      targetType: 'OAuthClient',
      targetId: client.id,
      changes,
    });
  }
}
