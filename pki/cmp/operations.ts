import type { Fabric } from '../../fabric/index.js';
import type { StateAccess } from '../../lib/context.js';
import { createSecrets, openCmpKeyring, secretState, type CreatedSecret, type SecretRequest, type SecretState } from './secrets.js';
import { CmpStore } from './store.js';
import { inputError } from '../../lib/i18n/index.js';
import { PKI_MESSAGES } from '../messages.js';

/** `jinbao cmp secret create`: one-time secrets for the people of `requests`, all or none, audited. */
export async function createCmpSecrets(state: StateAccess, fabric: Fabric, passphrase: string, requests: readonly SecretRequest[], opts: { now?: Date; actor?: string } = {}): Promise<CreatedSecret[]> {
  const store = await CmpStore.open(await state.database());
  return createSecrets(store, fabric, await openCmpKeyring(passphrase), requests, opts);
}

export interface CmpSecretListing {
  readonly reference: string;
  readonly site: string;
  readonly profile: string;
  readonly subject: string;
  readonly state: SecretState;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly usedAt: string | null;
  readonly serial: string | null;
}

/** `jinbao cmp secret list`: references, subjects and states (never the secrets). */
export async function listCmpSecrets(state: StateAccess, now = new Date()): Promise<CmpSecretListing[]> {
  const store = await CmpStore.open(await state.database());
  return (await store.listSecrets()).map((r) => ({ reference: r.reference, site: r.site, profile: r.profile, subject: r.subject, state: secretState(r, now), createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at, serial: r.serial }));
}

/** `jinbao cmp secret revoke`: an unused secret can no longer enroll; audited. */
export async function revokeCmpSecret(state: StateAccess, reference: string, opts: { now?: Date; actor?: string } = {}): Promise<{ reference: string; site: string; subject: string }> {
  const now = opts.now ?? new Date();
  const store = await CmpStore.open(await state.database());
  const row = await store.secret(reference);
  if (!row) throw inputError(PKI_MESSAGES, 'cmpSecret.unknown', { reference });
  const audit = { action: 'cmp.secret.revoke', outcome: 'ok' as const, subject: reference, ...(opts.actor ? { actor: opts.actor } : {}), details: { site: row.site, subject: row.subject } };
  if (!(await store.revokeSecret(reference, now, audit))) throw inputError(PKI_MESSAGES, row.serial ? 'cmpSecret.notUnusedEnrolled' : 'cmpSecret.notUnused', { reference, state: secretState(row, now), serial: row.serial ?? '' });
  return { reference, site: row.site, subject: row.subject };
}
