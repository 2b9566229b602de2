import type { Site } from '../fabric/index.js';
import { inputError } from '../lib/i18n/index.js';
import type { SubscriberKey } from './algorithms.js';
import { PKI_MESSAGES } from './messages.js';
import type { ExtendedKeyUsage, KeyUsage, NameAttribute } from './x509.js';

/**
 * Certificate profiles as versioned data. A profile says what a certificate may contain; the
 * issuance pipeline reads it and has no profile-specific code paths. Changing a profile's rules
 * means a new version: the version is recorded with every certificate issued under it.
 */

export const PROFILE_NAMES = ['staff-auth', 'staff-sign', 'server-tls', 'replica-mtls', 'ocsp-signing', 'evidence-signing'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export type SanRule = 'required' | 'allowed' | 'forbidden';

export interface Profile {
  readonly name: ProfileName;
  readonly version: number;
  readonly description: string;
  /** Which CA signs: the site's staff CA, the infrastructure CA, or the CA named with --ca. */
  readonly issuer: 'staff' | 'infrastructure' | 'named';
  /** Staff certificates count towards the staff KPI. */
  readonly staff: boolean;
  /** Key usages by the subscriber key's algorithm (what the certificate carries, and the most a CSR may ask for). */
  readonly keyUsage: KeyUsageByKey;
  readonly extendedKeyUsage: readonly ExtendedKeyUsage[];
  readonly maxValidityDays: number;
  readonly defaultValidityDays: number;
  readonly keys: { readonly rsaMinBits: number; readonly rsaMaxBits: number; readonly curves: readonly ('P-256' | 'P-384')[]; readonly sm2: boolean };
  readonly subject: {
    readonly required: readonly NameAttribute[];
    readonly allowed: readonly NameAttribute[];
    /** C must be CN when present (a modifier adds it). */
    readonly countryCN: boolean;
    /** O must be the site's organization (a modifier adds it). */
    readonly organizationOfSite: boolean;
    /** serialNumber (staff number) pattern. */
    readonly staffNumber?: RegExp;
  };
  readonly san: { readonly dns: SanRule; readonly ip: SanRule; readonly email: SanRule; readonly commonNameInDns: boolean };
  /** GM/T 0015 extensions this profile may carry; anything else is refused, never stored. */
  readonly gm: { readonly identityCode: boolean; readonly insuranceNumber: boolean };
  /** `--generate` allowed: the CA generates the key (servers and replicas; staff keep theirs on USB keys). */
  readonly keyGeneration: boolean;
  /** Which distribution URLs go into certificates. */
  readonly urls: { readonly crl: boolean; readonly ocsp: boolean; readonly caIssuers: boolean };
  readonly ocspNoCheck: boolean;
}

/**
 * Key usages per key algorithm. RFC 5480 section 3 (restated by RFC 8813) lists what an
 * id-ecPublicKey certificate may assert: never keyEncipherment or dataEncipherment, which exist for
 * RSA key transport. SM2 certificates follow GM/T 0015: jinbao issues SM2 signature certificates
 * (signature usages only), not the separate encryption certificates of a TLCP (GM/T 0024) pair.
 */
export interface KeyUsageByKey {
  readonly rsa: readonly KeyUsage[];
  readonly ec: readonly KeyUsage[];
  readonly sm2: readonly KeyUsage[];
}

/** The same usages whatever the key (signature-only usages, valid for RSA, EC and SM2 alike). */
function anyKey(usages: readonly KeyUsage[]): KeyUsageByKey {
  return { rsa: usages, ec: usages, sm2: usages };
}

/** TLS: RSA keys may also transport the premaster secret (keyEncipherment); EC and SM2 keys only sign (ECDHE). */
const TLS_KEY_USAGE: KeyUsageByKey = { rsa: ['digitalSignature', 'keyEncipherment'], ec: ['digitalSignature'], sm2: ['digitalSignature'] };

/** The key usages a certificate for `key` carries under profile `p`. */
export function keyUsageFor(p: Profile, key: SubscriberKey): readonly KeyUsage[] {
  return p.keyUsage[key.type];
}

const KEYS = { rsaMinBits: 2048, rsaMaxBits: 4096, curves: ['P-256', 'P-384'], sm2: true } as const;
const STAFF_NUMBER = /^[0-9A-Za-z-]{4,32}$/;

const STAFF_SUBJECT = {
  required: ['C', 'O', 'serialNumber', 'CN'],
  allowed: ['C', 'O', 'OU', 'serialNumber', 'CN'],
  countryCN: true,
  organizationOfSite: true,
  staffNumber: STAFF_NUMBER,
} as const;
const SERVER_SUBJECT = { required: ['CN'], allowed: ['C', 'ST', 'L', 'O', 'OU', 'CN'], countryCN: true, organizationOfSite: true } as const;

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  'staff-auth': {
    name: 'staff-auth',
    version: 1,
    description: 'staff client authentication (USB key login to business systems)',
    issuer: 'staff',
    staff: true,
    keyUsage: anyKey(['digitalSignature']),
    extendedKeyUsage: ['clientAuth'],
    maxValidityDays: 730,
    defaultValidityDays: 365,
    keys: KEYS,
    subject: STAFF_SUBJECT,
    san: { dns: 'forbidden', ip: 'forbidden', email: 'allowed', commonNameInDns: false },
    gm: { identityCode: true, insuranceNumber: true },
    keyGeneration: false,
    urls: { crl: true, ocsp: true, caIssuers: true },
    ocspNoCheck: false,
  },
  'staff-sign': {
    name: 'staff-sign',
    version: 1,
    description: 'staff signatures with non-repudiation (approvals, fund transfers)',
    issuer: 'staff',
    staff: true,
    keyUsage: anyKey(['nonRepudiation']),
    extendedKeyUsage: [],
    maxValidityDays: 730,
    defaultValidityDays: 365,
    keys: KEYS,
    subject: STAFF_SUBJECT,
    san: { dns: 'forbidden', ip: 'forbidden', email: 'allowed', commonNameInDns: false },
    gm: { identityCode: true, insuranceNumber: true },
    keyGeneration: false,
    urls: { crl: true, ocsp: true, caIssuers: true },
    ocspNoCheck: false,
  },
  'server-tls': {
    name: 'server-tls',
    // v2: key usages by key algorithm (v1 put keyEncipherment on EC and SM2 keys too).
    version: 2,
    description: 'TLS server certificates for business applications',
    issuer: 'infrastructure',
    staff: false,
    keyUsage: TLS_KEY_USAGE,
    extendedKeyUsage: ['serverAuth'],
    maxValidityDays: 397,
    defaultValidityDays: 365,
    keys: KEYS,
    subject: SERVER_SUBJECT,
    san: { dns: 'required', ip: 'allowed', email: 'forbidden', commonNameInDns: true },
    gm: { identityCode: false, insuranceNumber: false },
    keyGeneration: true,
    urls: { crl: true, ocsp: true, caIssuers: true },
    ocspNoCheck: false,
  },
  'replica-mtls': {
    name: 'replica-mtls',
    // v2: key usages by key algorithm (v1 put keyEncipherment on EC and SM2 keys too).
    version: 2,
    description: 'DR replication: database servers authenticating each other (server and client)',
    issuer: 'infrastructure',
    staff: false,
    keyUsage: TLS_KEY_USAGE,
    extendedKeyUsage: ['serverAuth', 'clientAuth'],
    maxValidityDays: 397,
    defaultValidityDays: 365,
    keys: KEYS,
    subject: SERVER_SUBJECT,
    san: { dns: 'required', ip: 'allowed', email: 'forbidden', commonNameInDns: true },
    gm: { identityCode: false, insuranceNumber: false },
    keyGeneration: true,
    urls: { crl: true, ocsp: true, caIssuers: true },
    ocspNoCheck: false,
  },
  'ocsp-signing': {
    name: 'ocsp-signing',
    version: 1,
    description: 'delegated OCSP responder, issued by the CA whose certificates it answers for',
    issuer: 'named',
    staff: false,
    keyUsage: anyKey(['digitalSignature']),
    extendedKeyUsage: ['OCSPSigning'],
    maxValidityDays: 90,
    defaultValidityDays: 30,
    keys: KEYS,
    subject: { required: ['CN'], allowed: ['C', 'O', 'OU', 'CN'], countryCN: true, organizationOfSite: false },
    san: { dns: 'forbidden', ip: 'forbidden', email: 'forbidden', commonNameInDns: false },
    gm: { identityCode: false, insuranceNumber: false },
    keyGeneration: true,
    urls: { crl: false, ocsp: false, caIssuers: true },
    ocspNoCheck: true,
  },
  'evidence-signing': {
    name: 'evidence-signing',
    version: 1,
    description: 'signing machine-made evidence (DR drill reports) so auditors can check who produced it',
    issuer: 'infrastructure',
    staff: false,
    keyUsage: anyKey(['digitalSignature', 'nonRepudiation']),
    extendedKeyUsage: [],
    maxValidityDays: 397,
    defaultValidityDays: 365,
    keys: KEYS,
    subject: { required: ['CN'], allowed: ['C', 'O', 'OU', 'CN'], countryCN: true, organizationOfSite: true },
    san: { dns: 'forbidden', ip: 'forbidden', email: 'forbidden', commonNameInDns: false },
    gm: { identityCode: false, insuranceNumber: false },
    keyGeneration: true,
    urls: { crl: true, ocsp: true, caIssuers: true },
    ocspNoCheck: false,
  },
};

export function profileByName(name: string): Profile {
  if (Object.hasOwn(PROFILES, name)) return PROFILES[name as ProfileName];
  throw inputError(PKI_MESSAGES, 'profile.unknown', { name, known: PROFILE_NAMES.join(', ') });
}

/** The organization (O) of a site's staff and servers: the HR/SS authority at that tier. */
export function organizationOf(site: Site): string {
  if (site.tier === 'ministry') return '人力资源和社会保障部';
  return `${site.name}人力资源和社会保障${site.tier === 'province' ? '厅' : '局'}`;
}

/** Where certificates point relying parties for CRLs, OCSP and issuer certificates. */
export interface DistributionUrls {
  /** @default http://pki.jinbao.internal */
  readonly base: string;
}
export const DEFAULT_DISTRIBUTION: DistributionUrls = { base: 'http://pki.jinbao.internal' };

/** The pki_settings entry holding the hierarchy's distribution base (set once, by pki init). */
export const DISTRIBUTION_BASE_SETTING = 'distribution-base';

/**
 * The URLs naming `caId`'s revocation data. The OCSP URL is per CA (`/ocsp/<ca-id>`), so that it
 * answers for that CA whether the responder behind it serves every CA (jinbao serve) or one
 * (jinbao pki ocsp serve behind a path-routing proxy).
 */
export function urlsFor(base: string, caId: string): { crl: string; ocsp: string; caIssuers: string } {
  return { crl: `${base}/crl/${caId}.crl`, ocsp: `${base}/ocsp/${caId}`, caIssuers: `${base}/ca/${caId}.crt` };
}

/**
 * Where one CRL of `caId` is published: a partition at `<base>/crl/<ca-id>/<n>.crl` (its delta at
 * `<n>-delta.crl`), the CA's complete CRL (partition null; what certificates issued before
 * partitions and the root's name) at `<base>/crl/<ca-id>.crl` (delta `<ca-id>-delta.crl`). A
 * certificate's CRL distribution point and its partition CRL's IssuingDistributionPoint are this `full` URL.
 */
export function crlUrlsFor(base: string, caId: string, partition: number | null): { full: string; delta: string } {
  const stem = partition === null ? `${base}/crl/${caId}` : `${base}/crl/${caId}/${partition}`;
  return { full: `${stem}.crl`, delta: `${stem}-delta.crl` };
}

/** A distribution base as the store keeps it: an http(s) URL without path, query or trailing slash. */
export function normalizeDistributionBase(text: string, flag = '--distribution-base'): string {
  const trimmed = text.trim().replace(/\/+$/, '');
  let u: URL | undefined;
  try {
    u = new URL(trimmed);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/' || u.search || u.hash || u.username) {
    throw inputError(PKI_MESSAGES, 'profile.distributionBase', { flag, text });
  }
  return trimmed;
}
