import { randomBytes } from 'node:crypto';
import type { Fabric } from '../../fabric/index.js';
import { openWithPassphrase, SecretKeyring, type KeyringPurpose } from '../secret-box.js';
import { allowedIdentifiers } from './policy.js';
import type { AcmeStore, EabKeyRow } from './store.js';
import { inputError } from '../../lib/i18n/index.js';
import { PKI_MESSAGES } from '../messages.js';

/**
 * External Account Binding keys: created by an operator for one site (and optionally one business
 * application), handed to that site's ACME client once, used by exactly one account. The HMAC key
 * must be readable again to check a MAC, so it is sealed under the CA passphrase with the key id
 * as its name (pki/secret-box.ts), never stored in clear.
 */

export const EAB_KEYRING: KeyringPurpose = { kdfSalt: 'jinbao acme eab v2', info: 'eab hmac key' };
export const EAB_DEFAULT_VALIDITY_DAYS = 7;

export interface EabKey {
  readonly kid: string;
  /** base64url, as `certbot --eab-hmac-key` takes it. */
  readonly hmacKey: string;
  readonly site: string;
  readonly application: string | null;
  readonly allowedIdentifiers: readonly string[];
  readonly expiresAt: string;
}

export async function createEabKey(
  store: AcmeStore,
  fabric: Fabric,
  passphrase: string,
  opts: { site: string; application?: string; validityDays?: number; now?: Date },
): Promise<EabKey> {
  const site = fabric.findSite(opts.site);
  if (!site) throw inputError(PKI_MESSAGES, 'eab.site', { site: opts.site });
  if (opts.application !== undefined) {
    const domains = fabric.domains(site) as string[];
    if (!domains.includes(opts.application)) throw inputError(PKI_MESSAGES, domains.length ? 'eab.application' : 'eab.applicationNone', { application: opts.application, known: domains.join(', '), site: site.id });
  }
  const days = opts.validityDays ?? EAB_DEFAULT_VALIDITY_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 365) throw inputError(PKI_MESSAGES, 'eab.days', { days });
  const now = opts.now ?? new Date();
  const kid = `eab-${site.id}-${randomBytes(9).toString('base64url')}`;
  const key = randomBytes(32);
  const row: EabKeyRow = {
    kid,
    site: site.id,
    application: opts.application ?? null,
    ...(await SecretKeyring.open(passphrase, EAB_KEYRING)).seal(kid, key),
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + days * 86_400_000).toISOString(),
    account_id: null,
  };
  await store.insertEabKey(row);
  return { kid, hmacKey: key.toString('base64url'), site: site.id, application: row.application, allowedIdentifiers: allowedIdentifiers(site), expiresAt: row.expires_at };
}

/** The HMAC key of an unused, unexpired EAB key; undefined otherwise (or when it cannot be decrypted). */
export async function usableEabKey(store: AcmeStore, passphrase: string, kid: string, now = new Date()): Promise<{ row: EabKeyRow; key: Buffer } | undefined> {
  const row = await store.eabKey(kid);
  if (!row || row.account_id !== null || row.expires_at <= now.toISOString()) return undefined;
  // Keys created before the keyring were sealed with scrypt over their own salt: still read, until they expire.
  const key = (await SecretKeyring.open(passphrase, EAB_KEYRING)).open(kid, row) ?? (await openWithPassphrase(passphrase, kid, row));
  return key ? { row, key } : undefined;
}
