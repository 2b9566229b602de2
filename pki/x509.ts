import { createHash, randomBytes } from 'node:crypto';
import type * as pkijs from 'pkijs';
import { CA_ALGORITHM_SPECS, type CaAlgorithm } from './algorithms.js';
import { bitString, children, extension, integer, NULL, octets, oid, readTlv, seq, set, time, tlv, TRUE, type Tlv } from './der.js';
import { inputError } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';

/**
 * Certificate encoding: names, extensions and the TBSCertificate, written as DER by hand (the
 * shared writer in der.ts) and signed by any `Signer`-like function. Pure functions of their
 * inputs (apart from fresh serials). Everything that is the same for every certificate of a CA
 * (issuer name, authority key identifier, distribution points) is encoded once by the caller.
 */

export const NAME_ATTRIBUTES = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  serialNumber: '2.5.4.5',
  CN: '2.5.4.3',
} as const;
export type NameAttribute = keyof typeof NAME_ATTRIBUTES;
const ATTRIBUTE_BY_OID: ReadonlyMap<string, NameAttribute> = new Map(Object.entries(NAME_ATTRIBUTES).map(([k, v]) => [v, k as NameAttribute]));

/** A distinguished name as ordered attribute/value pairs (most significant first: C, O, ..., CN). */
export type DistinguishedName = readonly { readonly type: NameAttribute; readonly value: string }[];

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** A Name (DER), one attribute per RDN: PrintableString for C and serialNumber when they fit, UTF8String otherwise. */
export function encodeName(name: DistinguishedName): Buffer {
  return seq(
    ...name.map((a) => {
      const printable = (a.type === 'C' || a.type === 'serialNumber') && PRINTABLE.test(a.value);
      return set(seq(oid(NAME_ATTRIBUTES[a.type]), tlv(printable ? 0x13 : 0x0c, Buffer.from(a.value, printable ? 'latin1' : 'utf8'))));
    }),
  );
}

/** Read a pkijs name; unknown attribute types come back as their OID. */
export function nameFromPkijs(rdn: pkijs.RelativeDistinguishedNames): { type: string; value: string }[] {
  return rdn.typesAndValues.map((tv) => ({ type: ATTRIBUTE_BY_OID.get(tv.type) ?? tv.type, value: String((tv.value.valueBlock as { value?: unknown }).value ?? '') }));
}

/** RFC 4514-like display form, most significant attribute first: "C=CN, O=..., CN=...". */
export function formatName(name: readonly { type: string; value: string }[]): string {
  return name.map((a) => `${a.type}=${a.value.replace(/([,+\\])/g, '\\$1')}`).join(', ');
}

/**
 * Parse "CN=张三, serialNumber=S0001, O=..., C=CN" (commas inside values escaped with "\").
 * Attributes may come in any order; the caller puts them in canonical order.
 */
export function parseSubject(text: string): { type: string; value: string }[] {
  // OpenSSL's form ("/CN=张三/serialNumber=S0001", as openssl req -subj and openssl cmp -subject take it) or RFC 4514-like "CN=张三, serialNumber=S0001".
  const slash = text.trimStart().startsWith('/');
  const separator = slash ? '/' : ',';
  const parts: string[] = [];
  let cur = '';
  const body = slash ? text.trimStart().slice(1) : text;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === '\\' && i + 1 < body.length) cur += body[++i];
    else if (ch === separator) (parts.push(cur), (cur = ''));
    else cur += ch;
  }
  parts.push(cur);
  return parts
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw inputError(PKI_MESSAGES, 'x509.subjectPair', { part: p, text });
      return { type: p.slice(0, eq).trim(), value: p.slice(eq + 1).trim() };
    });
}

/** A subject as the comma form parseSubject reads back (commas and backslashes in values escaped). */
export function subjectText(attrs: readonly { type: string; value: string }[]): string {
  return attrs.map((a) => `${a.type}=${a.value.replace(/[\\,]/g, (c) => `\\${c}`)}`).join(', ');
}

/** A fresh serial: 16 random bytes, top bit clear (positive) and second-highest set (minimal DER): 126 random bits. */
export function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b.toString('hex');
}

// ---- extensions

export const KEY_USAGES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

export const EXTENDED_KEY_USAGES = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
} as const;
export type ExtendedKeyUsage = keyof typeof EXTENDED_KEY_USAGES;

export const EXT = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  extensionRequest: '1.2.840.113549.1.9.14',
  /** GM/T 0015-2012: IdentityCode (resident identity card number). */
  gmIdentityCode: '1.2.156.10260.4.1.1',
  /** GM/T 0015-2012: InsuranceNumber (personal social-insurance number). */
  gmInsuranceNumber: '1.2.156.10260.4.1.2',
} as const;

/** KeyUsage BIT STRING (DER: trailing zero bits dropped, unused-bit count set). */
function keyUsageBits(usages: readonly KeyUsage[]): Buffer {
  let bits = 0;
  for (const u of usages) bits |= 1 << (15 - KEY_USAGES.indexOf(u));
  const bytes = bits & 0xff ? [bits >> 8, bits & 0xff] : [bits >> 8];
  const last = bytes[bytes.length - 1]!;
  let unused = 0;
  while (unused < 7 && (last & (1 << unused)) === 0) unused++;
  return tlv(0x03, Buffer.from([last === 0 ? 0 : unused, ...bytes]));
}

/** Decode a KeyUsage BIT STRING's bits (the content after the unused-bits octet). */
export function keyUsagesFromBits(v: Uint8Array): KeyUsage[] {
  const n = ((v[0] ?? 0) << 8) | (v[1] ?? 0);
  return KEY_USAGES.filter((_, i) => (n & (1 << (15 - i))) !== 0);
}

/** The public key bits of a SubjectPublicKeyInfo (the BIT STRING's content after its unused-bits octet). */
export function spkiPublicKey(spkiDer: Uint8Array): Uint8Array {
  const top = readTlv(spkiDer, 0);
  if (top.tag !== 0x30) throw new Error('SubjectPublicKeyInfo: want a SEQUENCE');
  const parts = children(spkiDer, top);
  const bits = parts[1];
  if (parts.length !== 2 || parts[0]!.tag !== 0x30 || !bits || bits.tag !== 0x03 || bits.end === bits.contentStart) throw new Error('SubjectPublicKeyInfo: want SEQUENCE { AlgorithmIdentifier, BIT STRING }');
  return spkiDer.subarray(bits.contentStart + 1, bits.end);
}

export function spkiKeyId(spkiDer: Uint8Array): Uint8Array {
  return createHash('sha1').update(spkiPublicKey(spkiDer)).digest();
}

/** The parts of a Certificate the CA reuses: its subject Name and SubjectPublicKeyInfo (DER slices). */
export function certificateParts(certDer: Uint8Array): { subjectDer: Uint8Array; spkiDer: Uint8Array } {
  const cert = readTlv(certDer, 0);
  const tbs = children(certDer, cert)[0];
  if (cert.tag !== 0x30 || !tbs || tbs.tag !== 0x30) throw new Error('Certificate: want SEQUENCE { TBSCertificate, ... }');
  const f = children(certDer, tbs);
  const at = f[0]?.tag === 0xa0 ? 1 : 0;
  const subject = f[at + 4];
  const spki = f[at + 5];
  if (!subject || !spki || subject.tag !== 0x30 || spki.tag !== 0x30) throw new Error('TBSCertificate: want subject and subjectPublicKeyInfo');
  const slice = (t: Tlv) => certDer.subarray(t.start, t.end);
  return { subjectDer: slice(subject), spkiDer: slice(spki) };
}

/** The key identifier (SHA-1 of the public key bits) of a certificate's subject key. */
export function certificateKeyId(certDer: Uint8Array): Uint8Array {
  return spkiKeyId(certificateParts(certDer).spkiDer);
}

export interface SubjectAltNames {
  readonly dns?: readonly string[];
  readonly ip?: readonly string[];
  readonly email?: readonly string[];
}

function ipBytes(ip: string): Uint8Array {
  const v4 = ip.split('.');
  if (v4.length === 4 && v4.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) return new Uint8Array(v4.map(Number));
  throw inputError(PKI_MESSAGES, 'x509.ipSan', { ip });
}

export interface ExtensionSpec {
  readonly ca?: { readonly pathLength?: number };
  readonly keyUsage: readonly KeyUsage[];
  readonly extendedKeyUsage?: readonly ExtendedKeyUsage[];
  readonly subjectKeyId: Uint8Array;
  readonly authorityKeyId?: Uint8Array;
  readonly san?: SubjectAltNames;
  readonly crlUrl?: string;
  readonly ocspUrl?: string;
  readonly caIssuersUrl?: string;
  readonly ocspNoCheck?: boolean;
  /** Pre-encoded per-CA extensions (from authorityKeyIdExtension, crlDistributionExtension, authorityInfoAccessExtension); they win over the fields above. */
  readonly authorityKeyIdDer?: Uint8Array;
  readonly crlDistributionDer?: Uint8Array;
  readonly authorityInfoAccessDer?: Uint8Array;
  readonly gm?: { readonly identityCode?: string; readonly insuranceNumber?: string };
}

const ia5 = (tag: number, text: string) => tlv(tag, Buffer.from(text, 'latin1'));
const OCSP_ACCESS = '1.3.6.1.5.5.7.48.1';
const CA_ISSUERS_ACCESS = '1.3.6.1.5.5.7.48.2';
const NON_CA_BASIC_CONSTRAINTS = extension(EXT.basicConstraints, seq(), true);

/** authorityKeyIdentifier: SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }. */
export function authorityKeyIdExtension(keyId: Uint8Array): Buffer {
  return extension(EXT.authorityKeyIdentifier, seq(tlv(0x80, keyId)));
}

/** cRLDistributionPoints with one distribution point, its full name one URI. */
export function crlDistributionExtension(url: string): Buffer {
  return extension(EXT.crlDistributionPoints, seq(seq(tlv(0xa0, tlv(0xa0, ia5(0x86, url))))));
}

/** authorityInfoAccess: OCSP and/or caIssuers URIs. */
export function authorityInfoAccessExtension(ocspUrl?: string, caIssuersUrl?: string): Buffer | undefined {
  const access: Buffer[] = [];
  if (ocspUrl) access.push(seq(oid(OCSP_ACCESS), ia5(0x86, ocspUrl)));
  if (caIssuersUrl) access.push(seq(oid(CA_ISSUERS_ACCESS), ia5(0x86, caIssuersUrl)));
  return access.length ? extension(EXT.authorityInfoAccess, seq(...access)) : undefined;
}

/** The DER Extension of every extension the spec asks for, in the order certificates carry them. */
export function buildExtensions(s: ExtensionSpec): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (s.ca) out.push(extension(EXT.basicConstraints, seq(TRUE, ...(s.ca.pathLength !== undefined ? [integer(s.ca.pathLength)] : [])), true));
  else out.push(NON_CA_BASIC_CONSTRAINTS);
  out.push(extension(EXT.keyUsage, keyUsageBits(s.keyUsage), true));
  if (s.extendedKeyUsage?.length) out.push(extension(EXT.extKeyUsage, seq(...s.extendedKeyUsage.map((e) => oid(EXTENDED_KEY_USAGES[e])))));
  out.push(extension(EXT.subjectKeyIdentifier, octets(s.subjectKeyId)));
  if (s.authorityKeyIdDer) out.push(s.authorityKeyIdDer);
  else if (s.authorityKeyId) out.push(authorityKeyIdExtension(s.authorityKeyId));
  const names: Buffer[] = [
    ...(s.san?.dns ?? []).map((d) => ia5(0x82, d)),
    ...(s.san?.ip ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
    ...(s.san?.email ?? []).map((e) => ia5(0x81, e)),
  ];
  if (names.length) out.push(extension(EXT.subjectAltName, seq(...names)));
  if (s.crlDistributionDer) out.push(s.crlDistributionDer);
  else if (s.crlUrl) out.push(crlDistributionExtension(s.crlUrl));
  const aia = s.authorityInfoAccessDer ?? authorityInfoAccessExtension(s.ocspUrl, s.caIssuersUrl);
  if (aia) out.push(aia);
  if (s.ocspNoCheck) out.push(extension(EXT.ocspNoCheck, NULL));
  // IdentityCode ::= CHOICE { residenterCardNumber [0] PrintableString, ... }
  if (s.gm?.identityCode !== undefined) out.push(extension(EXT.gmIdentityCode, seq(ia5(0x80, s.gm.identityCode))));
  if (s.gm?.insuranceNumber !== undefined) out.push(extension(EXT.gmInsuranceNumber, ia5(0x13, s.gm.insuranceNumber)));
  return out;
}

// ---- the certificate

export interface TbsSpec {
  readonly serial: string;
  /** The issuer's Name, DER (its certificate's subject; the subject itself for a root). */
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spkiDer: Uint8Array;
  /** DER Extension values (from buildExtensions). */
  readonly extensions: readonly Uint8Array[];
  readonly algorithm: CaAlgorithm;
}

const SIG_ALG_DER = new Map<CaAlgorithm, Buffer>();

/** The signature AlgorithmIdentifier of a CA algorithm (DER; encoded once). */
export function signatureAlgorithmDer(algorithm: CaAlgorithm): Buffer {
  let alg = SIG_ALG_DER.get(algorithm);
  if (!alg) {
    const spec = CA_ALGORITHM_SPECS[algorithm];
    SIG_ALG_DER.set(algorithm, (alg = spec.nullParams ? seq(oid(spec.signatureAlgorithmOid), NULL) : seq(oid(spec.signatureAlgorithmOid))));
  }
  return alg;
}

const VERSION_3 = tlv(0xa0, integer(2));

/** Encode the TBSCertificate (DER). */
export function encodeTbs(t: TbsSpec): Uint8Array {
  return seq(
    VERSION_3,
    integer(t.serial),
    signatureAlgorithmDer(t.algorithm),
    t.issuerDer,
    seq(time(t.notBefore), time(t.notAfter)),
    t.subjectDer,
    t.spkiDer,
    tlv(0xa3, seq(...t.extensions)),
  );
}

/** Wrap a TBSCertificate and its signature into the Certificate DER (concatenation; the TBS is already DER). */
export function assembleSigned(tbs: Uint8Array, algorithm: CaAlgorithm, signature: Uint8Array): Uint8Array {
  return seq(tbs, signatureAlgorithmDer(algorithm), bitString(signature));
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/** The DER inside a PEM block with `label`, or the input when it is already DER. */
export function fromPem(input: Uint8Array | string, label: string): Uint8Array {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`).exec(text);
  if (m) return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  return typeof input === 'string' ? new Uint8Array(Buffer.from(input, 'latin1')) : input;
}
