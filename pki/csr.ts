import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { InputError } from '../lib/errors.js';
import { catalogueMessage, inputError, type MessageParams } from '../lib/i18n/index.js';
import { OID, SM2_DEFAULT_ID, type SubscriberKey } from './algorithms.js';
import { children, content, oidString, readTlv, stringValue, type Tlv } from './der.js';
import { sm2Verify } from './sm2.js';
import { PKI_MESSAGES } from './messages.js';
import { EXT, EXTENDED_KEY_USAGES, fromPem, keyUsagesFromBits, NAME_ATTRIBUTES, spkiPublicKey, type ExtendedKeyUsage, type KeyUsage } from './x509.js';

/**
 * PKCS#10 requests: parse, and check proof of possession (the request is signed by the key it
 * certifies). Parsing is separate from building; anything malformed is an InputError, never a
 * crash, whatever the bytes. The request is read with a small DER walk (every tag checked), not
 * an object tree: parsing was most of an issuance's cost.
 */

export interface ParsedCsr {
  readonly der: Uint8Array;
  readonly subject: readonly { readonly type: string; readonly value: string }[];
  readonly spkiDer: Uint8Array;
  /** What the key is; `unsupported` names a key the CA cannot certify (the profile check refuses it). */
  readonly key: SubscriberKey | { readonly type: 'unsupported'; readonly description: string };
  readonly signatureAlgorithmOid: string;
  /** Extensions asked for in the extensionRequest attribute. */
  readonly requested: {
    readonly keyUsage?: readonly KeyUsage[];
    readonly extendedKeyUsage?: readonly (ExtendedKeyUsage | string)[];
    readonly dns: readonly string[];
    readonly ip: readonly string[];
    readonly email: readonly string[];
    readonly identityCode?: string;
    readonly insuranceNumber?: string;
    /** basicConstraints asked for CA:TRUE (refused by the profile checks: jinbao issues no CA from a CSR). */
    readonly ca?: boolean;
    /** Extensions the CA does not know; refused unless empty. */
    readonly other: readonly string[];
  };
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
}

const CURVES: Readonly<Record<string, SubscriberKey>> = {
  [OID.p256]: { type: 'ec', curve: 'P-256' },
  [OID.p384]: { type: 'ec', curve: 'P-384' },
  [OID.sm2Curve]: { type: 'sm2' },
};
const CURVE_NAMES: Readonly<Record<string, string>> = { '1.3.132.0.35': 'P-521', '1.3.132.0.10': 'secp256k1', '1.2.840.10045.3.1.1': 'P-192', '1.3.132.0.33': 'P-224' };

const SIG_HASH: Readonly<Record<string, 'sha256' | 'sha384' | 'sha512' | 'sm3'>> = {
  [OID.ecdsaSha256]: 'sha256',
  [OID.ecdsaSha384]: 'sha384',
  [OID.ecdsaSha512]: 'sha512',
  [OID.sha256WithRsa]: 'sha256',
  [OID.sha384WithRsa]: 'sha384',
  [OID.sha512WithRsa]: 'sha512',
  [OID.sm2WithSm3]: 'sm3',
};

/** A request that is not a well-formed PKCS#10 request; `why` is a pki/locales entry (`csr.*`). */
function malformed(why: string, params: MessageParams = {}, cause?: unknown): InputError {
  return inputError(PKI_MESSAGES, 'csr.malformed', { why: catalogueMessage(PKI_MESSAGES, why, params).localized }, { cause });
}

const ATTRIBUTE_BY_OID: ReadonlyMap<string, string> = new Map(Object.entries(NAME_ATTRIBUTES).map(([k, v]) => [v, k]));
const EKU_BY_OID: ReadonlyMap<string, ExtendedKeyUsage> = new Map(Object.entries(EXTENDED_KEY_USAGES).map(([k, o]) => [o, k as ExtendedKeyUsage]));

/** A structural problem inside the request (turned into a "malformed CSR" InputError by parseCsr). */
class Structure extends Error {}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) throw new Structure(`${what} is missing`);
  if (t.tag !== tag) throw new Structure(`${what}: want tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

/** The content of a BIT STRING after its unused-bits octet. */
function bits(buf: Uint8Array, t: Tlv, what: string): Uint8Array {
  expect(t, 0x03, what);
  if (t.end === t.contentStart) throw new Structure(`${what} is empty`);
  return buf.subarray(t.contentStart + 1, t.end);
}

/** Name ::= SEQUENCE OF SET OF AttributeTypeAndValue; every attribute, unknown types as their OID. */
function readName(buf: Uint8Array, name: Tlv): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = [];
  for (const rdn of children(buf, expect(name, 0x30, 'subject'))) {
    for (const atv of children(buf, expect(rdn, 0x31, 'subject RDN'))) {
      const [type, value] = children(buf, expect(atv, 0x30, 'subject attribute'));
      const o = oidString(buf, expect(type, 0x06, 'subject attribute type'));
      if (!value) throw new Structure('subject attribute value is missing');
      out.push({ type: ATTRIBUTE_BY_OID.get(o) ?? o, value: stringValue(buf, value) ?? '' });
    }
  }
  return out;
}

/** What a SubjectPublicKeyInfo (DER) holds, as the profile checks see it. Throws InputError when it does not decode. */
export function describePublicKey(spkiDer: Uint8Array): ParsedCsr['key'] {
  try {
    return describeSpki(spkiDer, expect(readTlv(spkiDer, 0), 0x30, 'subjectPublicKeyInfo'));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw inputError(PKI_MESSAGES, 'csr.malformedKey', { detail: (err as Error).message }, { cause: err });
  }
}

function describeSpki(buf: Uint8Array, spki: Tlv): ParsedCsr['key'] {
  const [algorithm] = children(buf, spki);
  const [algOid, param] = children(buf, expect(algorithm, 0x30, 'public key algorithm'));
  const alg = oidString(buf, expect(algOid, 0x06, 'public key algorithm'));
  const spkiDer = buf.subarray(spki.start, spki.end);
  const keyBits = spkiPublicKey(spkiDer);
  if (alg === OID.ecPublicKey) {
    const curve = param?.tag === 0x06 ? oidString(buf, param) : '(none)';
    return CURVES[curve] ?? { type: 'unsupported', description: `EC curve ${CURVE_NAMES[curve] ?? curve}` };
  }
  if (alg === OID.rsaEncryption) {
    const rsa = readTlv(keyBits, 0);
    const modulus = children(keyBits, expect(rsa, 0x30, 'the RSA public key'))[0];
    if (!modulus || modulus.tag !== 0x02) throw malformed('csr.rsaNoModulus');
    const bytes = content(keyBits, modulus);
    let i = 0;
    while (i < bytes.length && bytes[i] === 0) i++;
    const n = i === bytes.length ? 0 : (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
    return { type: 'rsa', bits: n };
  }
  return { type: 'unsupported', description: `public key algorithm ${alg}` };
}

function generalNames(buf: Uint8Array, value: Tlv): { dns: string[]; ip: string[]; email: string[] } {
  const out = { dns: [] as string[], ip: [] as string[], email: [] as string[] };
  for (const n of children(buf, expect(value, 0x30, 'subjectAltName'))) {
    const text = () => Buffer.from(content(buf, n)).toString('latin1');
    if (n.tag === 0x82) out.dns.push(text());
    else if (n.tag === 0x81) out.email.push(text());
    else if (n.tag === 0x87) out.ip.push([...content(buf, n)].join('.'));
    else throw malformed('csr.sanType', { type: n.tag & 0x1f });
  }
  return out;
}

function requestedExtensions(buf: Uint8Array, attributes: Tlv | undefined): ParsedCsr['requested'] {
  const req: { -readonly [K in keyof ParsedCsr['requested']]: ParsedCsr['requested'][K] } = { dns: [], ip: [], email: [], other: [] };
  if (!attributes) return req;
  for (const attr of children(buf, expect(attributes, 0xa0, 'attributes'))) {
    const [type, values] = children(buf, expect(attr, 0x30, 'attribute'));
    if (oidString(buf, expect(type, 0x06, 'attribute type')) !== EXT.extensionRequest) continue;
    const exts = children(buf, expect(values, 0x31, 'extensionRequest values'))[0];
    for (const e of children(buf, expect(exts, 0x30, 'extensionRequest'))) {
      const parts = children(buf, expect(e, 0x30, 'extension'));
      const id = oidString(buf, expect(parts[0], 0x06, 'extension id'));
      const valueOctets = expect(parts[parts.length - 1], 0x04, `extension ${id} value`);
      if (parts.length === 3) expect(parts[1], 0x01, `extension ${id} critical flag`);
      else if (parts.length !== 2) throw new Structure(`extension ${id}: want 2 or 3 fields, got ${parts.length}`);
      const inner = content(buf, valueOctets);
      let v: Tlv;
      try {
        v = readTlv(inner, 0);
      } catch (err) {
        throw malformed('csr.extensionDoesNotDecode', { id }, err);
      }
      switch (id) {
        case EXT.keyUsage:
          req.keyUsage = keyUsagesFromBits(bits(inner, v, 'keyUsage'));
          break;
        case EXT.extKeyUsage:
          req.extendedKeyUsage = children(inner, expect(v, 0x30, 'extKeyUsage')).map((o) => {
            const dotted = oidString(inner, o);
            return EKU_BY_OID.get(dotted) ?? dotted;
          });
          break;
        case EXT.subjectAltName: {
          const g = generalNames(inner, v);
          req.dns = g.dns;
          req.ip = g.ip;
          req.email = g.email;
          break;
        }
        case EXT.gmIdentityCode: {
          const choice = v.tag === 0x30 ? children(inner, v)[0] : undefined;
          if (!choice || (choice.tag & 0xe0) !== 0x80) throw malformed('csr.notIdentityCode');
          req.identityCode = Buffer.from(content(inner, choice)).toString('latin1');
          break;
        }
        case EXT.gmInsuranceNumber:
          req.insuranceNumber = stringValue(inner, v) ?? '';
          break;
        case EXT.basicConstraints: {
          // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
          const first = children(inner, expect(v, 0x30, 'basicConstraints'))[0];
          req.ca = first?.tag === 0x01 && content(inner, first).some((b) => b !== 0);
          break;
        }
        case EXT.subjectKeyIdentifier:
          break;
        default:
          req.other = [...req.other, id];
      }
    }
  }
  return req;
}

/** Parse a CSR (PEM or DER). Throws InputError for anything that is not a well-formed PKCS#10 request. */
export function parseCsr(input: Uint8Array | string): ParsedCsr {
  let der: Uint8Array;
  try {
    der = fromPem(input, 'CERTIFICATE REQUEST');
  } catch (err) {
    throw malformed('csr.pemDoesNotDecode', {}, err);
  }
  const notARequest = (why: string, params: MessageParams, cause?: unknown) =>
    malformed('csr.notARequest', { bytes: der.length, why: catalogueMessage(PKI_MESSAGES, why, params).localized }, cause);
  const pemLabel = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(Buffer.from(der.subarray(0, 4096)).toString('latin1'))?.[1];
  if (pemLabel !== undefined) throw notARequest('csr.pemLabel', { label: pemLabel });
  if (der[0] !== 0x30) throw notARequest('csr.notDer', { byte: (der[0] ?? 0).toString(16).padStart(2, '0') });
  if (der.length < 16) throw malformed('csr.tooShort', { bytes: der.length });
  let top: Tlv;
  try {
    top = readTlv(der, 0);
  } catch (err) {
    throw malformed('csr.derDoesNotDecode', { detail: (err as Error).message }, err);
  }
  let parsed: ParsedCsr;
  try {
    const [info, sigAlg, sigValue, ...extra] = children(der, expect(top, 0x30, 'CertificationRequest'));
    if (extra.length) throw new Structure('CertificationRequest has fields after the signature');
    const [version, subject, spki, attributes, ...rest] = children(der, expect(info, 0x30, 'CertificationRequestInfo'));
    expect(version, 0x02, 'version');
    if (rest.length) throw new Structure('CertificationRequestInfo has fields after the attributes');
    expect(spki, 0x30, 'subjectPublicKeyInfo');
    const sigOid = children(der, expect(sigAlg, 0x30, 'signatureAlgorithm'))[0];
    parsed = {
      der,
      subject: readName(der, subject!),
      spkiDer: der.slice(spki!.start, spki!.end),
      key: describeSpki(der, spki!),
      signatureAlgorithmOid: oidString(der, expect(sigOid, 0x06, 'signatureAlgorithm')),
      requested: requestedExtensions(der, attributes),
      tbs: der.slice(info!.start, info!.end),
      signature: bits(der, sigValue!, 'signature').slice(),
    };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw notARequest('csr.notPkcs10', { detail: (err as Error).message }, err);
  }
  // Only a well-formed request can have bytes "after" it; for anything else that talk would mislead.
  if (top.end !== der.length) throw malformed('csr.trailing', { bytes: der.length - top.end });
  return parsed;
}

const EC_SIZE = { 'P-256': 32, 'P-384': 48 } as const;

/**
 * The request's key as a Node KeyObject. Uncompressed EC points and RSA keys go in as JWK (their
 * coordinates / modulus and exponent read from the SPKI; OpenSSL still checks the point is on the
 * curve), which imports several times faster than OpenSSL's SPKI decoder; anything else (compressed
 * points, negative integers) as SPKI.
 */
function nodePublicKey(csr: Pick<ParsedCsr, 'key' | 'spkiDer'>): KeyObject {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const k = csr.key;
  const bits = spkiPublicKey(csr.spkiDer);
  if (k.type === 'ec' && bits[0] === 0x04 && bits.length === 1 + 2 * EC_SIZE[k.curve]) {
    const n = EC_SIZE[k.curve];
    return createPublicKey({ key: { kty: 'EC', crv: k.curve, x: b64(bits.subarray(1, 1 + n)), y: b64(bits.subarray(1 + n)) }, format: 'jwk' });
  }
  if (k.type === 'rsa') {
    const top = readTlv(bits, 0);
    const [n, e, ...rest] = children(bits, top);
    if (top.tag === 0x30 && top.end === bits.length && n?.tag === 0x02 && e?.tag === 0x02 && rest.length === 0 && n.end > n.contentStart && e.end > e.contentStart && (bits[n.contentStart]! & 0x80) === 0 && (bits[e.contentStart]! & 0x80) === 0) {
      const unsigned = (t: Tlv) => {
        const c = content(bits, t);
        let i = 0;
        while (i < c.length - 1 && c[i] === 0) i++;
        return c.subarray(i);
      };
      return createPublicKey({ key: { kty: 'RSA', n: b64(unsigned(n)), e: b64(unsigned(e)) }, format: 'jwk' });
    }
  }
  return createPublicKey({ key: Buffer.from(csr.spkiDer), format: 'der', type: 'spki' });
}

/** Proof of possession: the request's signature verifies with the key it carries. */
export function verifyCsrSignature(csr: ParsedCsr): void {
  if (!SIG_HASH[csr.signatureAlgorithmOid]) throw inputError(PKI_MESSAGES, 'csr.signatureAlgorithm', { oid: csr.signatureAlgorithmOid });
  if (SIG_HASH[csr.signatureAlgorithmOid] === 'sm3' && csr.key.type !== 'sm2') throw inputError(PKI_MESSAGES, 'csr.sm3OnOtherKey', { type: csr.key.type });
  if (!signatureVerifies(csr)) throw inputError(PKI_MESSAGES, 'csr.signatureInvalid');
}

/**
 * Whether `signature` over `tbs` verifies with the key of `spkiDer` (ECDSA or RSA with SHA-2, SM2
 * with SM3 under one of `sm2UserIds`, by default GM/T 0009's 1234567812345678): the proof of
 * possession of a CSR or of a CRMF request.
 */
export function signatureVerifies(
  p: { readonly signatureAlgorithmOid: string; readonly key: ParsedCsr['key']; readonly spkiDer: Uint8Array; readonly tbs: Uint8Array; readonly signature: Uint8Array },
  sm2UserIds: readonly string[] = [SM2_DEFAULT_ID],
): boolean {
  const hash = SIG_HASH[p.signatureAlgorithmOid];
  if (!hash) return false;
  try {
    if (hash === 'sm3') {
      if (p.key.type !== 'sm2') return false;
      const pub = Buffer.from(spkiPublicKey(p.spkiDer)).toString('hex');
      return sm2UserIds.some((id) => sm2Verify(p.tbs, p.signature, pub, id));
    }
    return p.key.type !== 'sm2' && nodeVerify(hash, p.tbs, nodePublicKey(p), p.signature);
  } catch {
    return false;
  }
}
