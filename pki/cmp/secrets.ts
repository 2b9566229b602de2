import { randomBytes } from 'node:crypto';
import type { Fabric } from '../../fabric/index.js';
import { InputError } from '../../lib/errors.js';
import { validIdentityCode } from '../pipeline.js';
import type { ProfileName } from '../profiles.js';
import { SecretKeyring, type KeyringPurpose } from '../secret-box.js';
import { parseSubject, subjectText } from '../x509.js';
import type { CmpStore, SecretRow } from './store.js';
import { inputError } from '../../lib/i18n/index.js';
import { PKI_MESSAGES } from '../messages.js';

/**
 * One-time enrollment secrets: created by a security officer for one person (site, staff profile,
 * subject), handed to them once, used by exactly one `ir` or `p10cr`. The server must recompute
 * the password-based MAC with the salt and iteration count each request chooses (RFC 4210
 * §5.1.3.1), so a one-way hash of the secret could not check it: the secret is sealed under the CA
 * passphrase with the reference as its name (pki/secret-box.ts), never stored in clear.
 */

export const CMP_SECRET_DEFAULT_VALIDITY_DAYS = 7;
export const CMP_PROFILES: readonly ProfileName[] = ['staff-auth', 'staff-sign'];

/** The keyring of CMP secrets (pki/secret-box.ts); its salt and info are those secrets were always sealed with. */
export const CMP_SECRET_KEYRING: KeyringPurpose = { kdfSalt: 'jinbao cmp secrets v1', info: 'cmp secret' };

export function openCmpKeyring(passphrase: string): Promise<SecretKeyring> {
  return SecretKeyring.open(passphrase, CMP_SECRET_KEYRING);
}

export interface SecretRequest {
  readonly site: string;
  readonly profile: string;
  /** "CN=张三, serialNumber=S0001" or OpenSSL's "/CN=张三/serialNumber=S0001" (C and O are added from the site at issuance). */
  readonly subject: string;
  readonly identityCode?: string;
  readonly insuranceNumber?: string;
  /** @default 7 */
  readonly validityDays?: number;
}

export interface CreatedSecret {
  readonly reference: string;
  /** Shown once. */
  readonly secret: string;
  readonly site: string;
  readonly profile: string;
  readonly subject: string;
  readonly expiresAt: string;
}

const STAFF_NUMBER = /^[0-9A-Za-z-]{4,32}$/;

/** Everything wrong with one request, each problem saying what and how to fix it. */
export function secretRequestProblems(fabric: Fabric, r: SecretRequest): string[] {
  const problems: string[] = [];
  if (!fabric.findSite(r.site)) problems.push(`site: got "${r.site}", want a site of the inventory (list them with: jinbao inventory show)`);
  if (!(CMP_PROFILES as readonly string[]).includes(r.profile)) problems.push(`profile: got "${r.profile}", want ${CMP_PROFILES.join(' or ')} (CMP enrolls staff; servers use ACME)`);
  let attrs: { type: string; value: string }[] = [];
  try {
    attrs = parseSubject(r.subject);
  } catch (err) {
    problems.push((err as Error).message);
  }
  const allowed = new Set(['CN', 'serialNumber', 'OU', 'O', 'C']);
  for (const a of attrs) if (!allowed.has(a.type)) problems.push(`subject attribute ${a.type}: got "${a.value}", want only CN, serialNumber, OU (O and C come from the site)`);
  const cn = attrs.find((a) => a.type === 'CN')?.value;
  const sn = attrs.find((a) => a.type === 'serialNumber')?.value;
  if (attrs.length && !cn) problems.push(`subject: got "${r.subject}" without CN, want the person's name, e.g. "CN=张三, serialNumber=S0001"`);
  if (attrs.length && !sn) problems.push(`subject: got "${r.subject}" without serialNumber, want the staff number, e.g. "CN=张三, serialNumber=S0001"`);
  if (sn !== undefined && !STAFF_NUMBER.test(sn)) problems.push(`subject serialNumber (staff number): got "${sn}", want 4-32 letters, digits or "-"`);
  if (r.identityCode !== undefined && !validIdentityCode(r.identityCode)) problems.push(`identity code: got "${r.identityCode}", want 18 characters (17 digits and a GB 11643 check character)`);
  if (r.insuranceNumber !== undefined && !/^[0-9A-Z]{1,18}$/.test(r.insuranceNumber)) problems.push(`insurance number: got "${r.insuranceNumber}", want 1-18 digits or capital letters`);
  const days = r.validityDays ?? CMP_SECRET_DEFAULT_VALIDITY_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 90) problems.push(`days: got ${days}, want a whole number of days from 1 to 90`);
  return problems;
}

/** Create secrets for every request, all or none (one transaction, audited); InputError naming each problem, by position. */
export async function createSecrets(store: CmpStore, fabric: Fabric, keyring: SecretKeyring, requests: readonly SecretRequest[], opts: { now?: Date; actor?: string } = {}): Promise<CreatedSecret[]> {
  const batch = prepareSecrets(store, fabric, keyring, requests, opts);
  await batch.record();
  return [...batch.secrets];
}

/** Secrets made (references, secrets, sealed rows) but not yet recorded: `record` stores them all in one transaction, audited. */
export interface PreparedSecrets {
  readonly secrets: readonly CreatedSecret[];
  record(): Promise<void>;
}

/**
 * The secrets for `requests`, not recorded yet: a caller that must write them somewhere first (an
 * enrollment station's file, staged before the commit) records them after. InputError naming each
 * problem, by position, and nothing made.
 */
export function prepareSecrets(store: CmpStore, fabric: Fabric, keyring: SecretKeyring, requests: readonly SecretRequest[], opts: { now?: Date; actor?: string; audit?: Record<string, unknown> } = {}): PreparedSecrets {
  const now = opts.now ?? new Date();
  const problems = requests.flatMap((r, i) => secretRequestProblems(fabric, r).map((p) => (requests.length > 1 ? `row ${i + 1}: ${p}` : p)));
  if (problems.length === 1) throw new InputError(problems[0]!);
  if (problems.length > 1) throw inputError(PKI_MESSAGES, 'cmpSecret.problems', { n: problems.length, first: problems[0]! }, { details: problems });
  const rows: SecretRow[] = [];
  const out: CreatedSecret[] = [];
  for (const given of requests) {
    // kept in the comma form whichever form was given (OpenSSL's "/CN=…/serialNumber=…" too)
    const r = { ...given, subject: subjectText(parseSubject(given.subject)) };
    const reference = `${r.site}-${randomBytes(6).toString('hex')}`;
    const secret = randomBytes(18).toString('base64url');
    const expiresAt = new Date(now.getTime() + (r.validityDays ?? CMP_SECRET_DEFAULT_VALIDITY_DAYS) * 86_400_000).toISOString();
    rows.push({
      reference,
      site: r.site,
      profile: r.profile,
      subject: r.subject,
      identity_code: r.identityCode ?? null,
      insurance_number: r.insuranceNumber ?? null,
      ...keyring.seal(reference, Buffer.from(secret)),
      created_at: now.toISOString(),
      expires_at: expiresAt,
      used_at: null,
      revoked_at: null,
      serial: null,
    });
    out.push({ reference, secret, site: r.site, profile: r.profile, subject: r.subject, expiresAt });
  }
  return {
    secrets: out,
    // Audited in the same transaction as the rows (never the secret).
    record: () =>
      store.insertSecrets(rows, out.map((s) => ({ action: 'cmp.secret.create', outcome: 'ok' as const, subject: s.reference, ...(opts.actor ? { actor: opts.actor } : {}), details: { site: s.site, profile: s.profile, subject: s.subject, expiresAt: s.expiresAt, ...opts.audit } }))),
  };
}

export type SecretState = 'unused' | 'used' | 'expired' | 'revoked';

export function secretState(row: Pick<SecretRow, 'used_at' | 'revoked_at' | 'expires_at'>, now = new Date()): SecretState {
  if (row.revoked_at) return 'revoked';
  if (row.used_at) return 'used';
  if (row.expires_at <= now.toISOString()) return 'expired';
  return 'unused';
}

