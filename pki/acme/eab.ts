import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import type { Fabric } from '../../fabric/index.js';
import { InputError } from '../../lib/errors.js';
import { allowedIdentifiers } from './policy.js';
import type { AcmeStore, EabKeyRow } from './store.js';

/**
 * External Account Binding keys: created by an operator for one site (and optionally one business
 * application), handed to that site's ACME client once, used by exactly one account. The HMAC key
 * must be readable again to check a MAC, so it is stored encrypted (AES-256-GCM, the key id as
 * associated data) under a key derived from the CA passphrase with scrypt and a salt per key;
 * the state store alone does not reveal it.
 */

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, opts: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
const KDF = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
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
  if (!site) throw new InputError(`--site: got "${opts.site}", want a site of the inventory (list them with: jinbao inventory show)`);
  if (opts.application !== undefined) {
    const domains = fabric.domains(site) as string[];
    if (!domains.includes(opts.application)) throw new InputError(`--application: got "${opts.application}", want one of ${domains.join(', ') || '(none)'} (the business domains site ${site.id} hosts)`);
  }
  const days = opts.validityDays ?? EAB_DEFAULT_VALIDITY_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 365) throw new InputError(`--days: got ${days}, want a whole number of days from 1 to 365`);
  const now = opts.now ?? new Date();
  const kid = `eab-${site.id}-${randomBytes(9).toString('base64url')}`;
  const key = randomBytes(32);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await scryptAsync(passphrase, salt, 32, KDF), iv);
  cipher.setAAD(Buffer.from(kid));
  const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
  const row: EabKeyRow = {
    kid,
    site: site.id,
    application: opts.application ?? null,
    salt,
    iv,
    ciphertext,
    tag: cipher.getAuthTag(),
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
  try {
    const decipher = createDecipheriv('aes-256-gcm', await scryptAsync(passphrase, Buffer.from(row.salt), 32, KDF), Buffer.from(row.iv));
    decipher.setAAD(Buffer.from(kid));
    decipher.setAuthTag(Buffer.from(row.tag));
    return { row, key: Buffer.concat([decipher.update(Buffer.from(row.ciphertext)), decipher.final()]) };
  } catch {
    return undefined;
  }
}
