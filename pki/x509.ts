import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { InputError } from '../lib/errors.js';
import { CA_ALGORITHM_SPECS, type CaAlgorithm } from './algorithms.js';

/**
 * Certificate encoding: names, extensions and the TBSCertificate, built with pkijs and signed by
 * any `Signer`-like function. Pure functions of their inputs (apart from fresh serials).
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

/** One attribute per RDN (pkijs alone would put them all in one multi-valued RDN). */
export function nameToPkijs(name: DistinguishedName): pkijs.RelativeDistinguishedNames {
  const seq = new asn1js.Sequence({
    value: name.map(
      (a) =>
        new asn1js.Set({
          value: [
            new pkijs.AttributeTypeAndValue({
              type: NAME_ATTRIBUTES[a.type],
              value: (a.type === 'C' || a.type === 'serialNumber') && PRINTABLE.test(a.value) ? new asn1js.PrintableString({ value: a.value }) : new asn1js.Utf8String({ value: a.value }),
            }).toSchema(),
          ],
        }),
    ),
  });
  return pkijs.RelativeDistinguishedNames.fromBER(seq.toBER(false));
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
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) cur += text[++i];
    else if (ch === ',') (parts.push(cur), (cur = ''));
    else cur += ch;
  }
  parts.push(cur);
  return parts
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new InputError(`subject: got "${p}" in "${text}", want TYPE=VALUE pairs separated by commas, e.g. "CN=app.example, O=Ministry, C=CN"`);
      return { type: p.slice(0, eq).trim(), value: p.slice(eq + 1).trim() };
    });
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

function keyUsageBits(usages: readonly KeyUsage[]): asn1js.BitString {
  let bits = 0;
  for (const u of usages) bits |= 1 << (15 - KEY_USAGES.indexOf(u));
  const bytes = bits & 0xff ? [bits >> 8, bits & 0xff] : [bits >> 8];
  const last = bytes[bytes.length - 1]!;
  let unused = 0;
  while (unused < 7 && (last & (1 << unused)) === 0) unused++;
  return new asn1js.BitString({ valueHex: new Uint8Array(bytes).buffer, unusedBits: last === 0 ? 0 : unused });
}

/** Decode a KeyUsage BIT STRING. */
export function keyUsagesFromBits(bits: asn1js.BitString): KeyUsage[] {
  const v = bits.valueBlock.valueHexView;
  const n = ((v[0] ?? 0) << 8) | (v[1] ?? 0);
  return KEY_USAGES.filter((_, i) => (n & (1 << (15 - i))) !== 0);
}

function ext(extnID: string, critical: boolean, value: asn1js.BaseBlock): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toBER(false) });
}

export function spkiKeyId(spkiDer: Uint8Array): Uint8Array {
  const spki = pkijs.PublicKeyInfo.fromBER(spkiDer);
  return createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest();
}

/** The key identifier (SHA-1 of the public key bits) of a certificate's subject key. */
export function certificateKeyId(certDer: Uint8Array): Uint8Array {
  const cert = pkijs.Certificate.fromBER(certDer);
  return createHash('sha1').update(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest();
}

export interface SubjectAltNames {
  readonly dns?: readonly string[];
  readonly ip?: readonly string[];
  readonly email?: readonly string[];
}

function ipBytes(ip: string): Uint8Array {
  const v4 = ip.split('.');
  if (v4.length === 4 && v4.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) return new Uint8Array(v4.map(Number));
  throw new InputError(`IP address SAN: got "${ip}", want a dotted IPv4 address such as 10.4.1.10`);
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
  readonly gm?: { readonly identityCode?: string; readonly insuranceNumber?: string };
}

export function buildExtensions(s: ExtensionSpec): pkijs.Extension[] {
  const out: pkijs.Extension[] = [];
  out.push(ext(EXT.basicConstraints, true, new pkijs.BasicConstraints(s.ca ? { cA: true, ...(s.ca.pathLength !== undefined ? { pathLenConstraint: s.ca.pathLength } : {}) } : {}).toSchema()));
  out.push(ext(EXT.keyUsage, true, keyUsageBits(s.keyUsage)));
  if (s.extendedKeyUsage?.length) out.push(ext(EXT.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: s.extendedKeyUsage.map((e) => EXTENDED_KEY_USAGES[e]) }).toSchema()));
  out.push(ext(EXT.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: s.subjectKeyId })));
  if (s.authorityKeyId) out.push(ext(EXT.authorityKeyIdentifier, false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: s.authorityKeyId }) }).toSchema()));
  const names: pkijs.GeneralName[] = [
    ...(s.san?.dns ?? []).map((d) => new pkijs.GeneralName({ type: 2, value: d })),
    ...(s.san?.ip ?? []).map((ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipBytes(ip) }) })),
    ...(s.san?.email ?? []).map((e) => new pkijs.GeneralName({ type: 1, value: e })),
  ];
  if (names.length) out.push(ext(EXT.subjectAltName, false, new pkijs.GeneralNames({ names }).toSchema()));
  if (s.crlUrl) {
    out.push(
      ext(
        EXT.crlDistributionPoints,
        false,
        new pkijs.CRLDistributionPoints({ distributionPoints: [new pkijs.DistributionPoint({ distributionPoint: [new pkijs.GeneralName({ type: 6, value: s.crlUrl })] })] }).toSchema(),
      ),
    );
  }
  const access: pkijs.AccessDescription[] = [];
  if (s.ocspUrl) access.push(new pkijs.AccessDescription({ accessMethod: '1.3.6.1.5.5.7.48.1', accessLocation: new pkijs.GeneralName({ type: 6, value: s.ocspUrl }) }));
  if (s.caIssuersUrl) access.push(new pkijs.AccessDescription({ accessMethod: '1.3.6.1.5.5.7.48.2', accessLocation: new pkijs.GeneralName({ type: 6, value: s.caIssuersUrl }) }));
  if (access.length) out.push(ext(EXT.authorityInfoAccess, false, new pkijs.InfoAccess({ accessDescriptions: access }).toSchema()));
  if (s.ocspNoCheck) out.push(ext(EXT.ocspNoCheck, false, new asn1js.Null()));
  if (s.gm?.identityCode !== undefined) {
    // IdentityCode ::= CHOICE { residenterCardNumber [0] PrintableString, ... }
    const inner = new asn1js.PrintableString({ value: s.gm.identityCode });
    out.push(ext(EXT.gmIdentityCode, false, new asn1js.Sequence({ value: [new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: inner.valueBlock.valueHexView.slice().buffer })] })));
  }
  if (s.gm?.insuranceNumber !== undefined) out.push(ext(EXT.gmInsuranceNumber, false, new asn1js.PrintableString({ value: s.gm.insuranceNumber })));
  return out;
}

// ---- the certificate

export interface TbsSpec {
  readonly serial: string;
  readonly issuer: pkijs.RelativeDistinguishedNames;
  readonly subject: pkijs.RelativeDistinguishedNames;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spkiDer: Uint8Array;
  readonly extensions: pkijs.Extension[];
  readonly algorithm: CaAlgorithm;
}

function signatureAlgorithm(algorithm: CaAlgorithm): pkijs.AlgorithmIdentifier {
  const spec = CA_ALGORITHM_SPECS[algorithm];
  return new pkijs.AlgorithmIdentifier({ algorithmId: spec.signatureAlgorithmOid, ...(spec.nullParams ? { algorithmParams: new asn1js.Null() } : {}) });
}

function time(d: Date): pkijs.Time {
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return new pkijs.Time({ type: d.getUTCFullYear() >= 2050 ? 1 : 0, value: d });
}

/** Encode the TBSCertificate (DER). */
export function encodeTbs(t: TbsSpec): Uint8Array {
  const cert = new pkijs.Certificate({
    version: 2,
    serialNumber: new asn1js.Integer({ valueHex: Buffer.from(t.serial, 'hex') }),
    signature: signatureAlgorithm(t.algorithm),
    issuer: t.issuer,
    subject: t.subject,
    notBefore: time(t.notBefore),
    notAfter: time(t.notAfter),
    subjectPublicKeyInfo: pkijs.PublicKeyInfo.fromBER(t.spkiDer),
    extensions: t.extensions,
  });
  return new Uint8Array(cert.encodeTBS().toBER(false));
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derTlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const SIG_ALG_DER = new Map<CaAlgorithm, Buffer>();

/** Wrap a TBSCertificate and its signature into the Certificate DER (concatenation; the TBS is already DER). */
export function assembleSigned(tbs: Uint8Array, algorithm: CaAlgorithm, signature: Uint8Array): Uint8Array {
  let alg = SIG_ALG_DER.get(algorithm);
  if (!alg) SIG_ALG_DER.set(algorithm, (alg = Buffer.from(signatureAlgorithm(algorithm).toSchema().toBER(false))));
  const bits = derTlv(0x03, Buffer.concat([Buffer.from([0]), signature]));
  return new Uint8Array(derTlv(0x30, Buffer.concat([tbs, alg, bits])));
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
