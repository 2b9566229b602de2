import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { sm2 } from 'sm-crypto-v2';
import { InputError } from '../lib/errors.js';
import { OID, SM2_DEFAULT_ID, type SubscriberKey } from './algorithms.js';
import { EXT, EXTENDED_KEY_USAGES, fromPem, keyUsagesFromBits, nameFromPkijs, type ExtendedKeyUsage, type KeyUsage } from './x509.js';

/**
 * PKCS#10 requests: parse, and check proof of possession (the request is signed by the key it
 * certifies). Parsing is separate from building; anything malformed is an InputError, never a
 * crash, whatever the bytes.
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

function malformed(why: string, cause?: unknown): InputError {
  return new InputError(`malformed CSR: ${why}; want a PKCS#10 request in PEM ("-----BEGIN CERTIFICATE REQUEST-----") or DER, e.g. from: openssl req -new -key KEY -subj "/CN=..."`, { cause });
}

function describeSpki(spki: pkijs.PublicKeyInfo): ParsedCsr['key'] {
  const alg = spki.algorithm.algorithmId;
  if (alg === OID.ecPublicKey) {
    const param = spki.algorithm.algorithmParams;
    const curve = param instanceof asn1js.ObjectIdentifier ? param.valueBlock.toString() : '(none)';
    return CURVES[curve] ?? { type: 'unsupported', description: `EC curve ${CURVE_NAMES[curve] ?? curve}` };
  }
  if (alg === OID.rsaEncryption) {
    const key = asn1js.fromBER(spki.subjectPublicKey.valueBlock.valueHexView).result;
    const modulus = (key as asn1js.Sequence).valueBlock?.value?.[0];
    if (!(modulus instanceof asn1js.Integer)) throw malformed('the RSA public key has no modulus');
    const bytes = modulus.valueBlock.valueHexView;
    let i = 0;
    while (i < bytes.length && bytes[i] === 0) i++;
    const bits = i === bytes.length ? 0 : (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
    return { type: 'rsa', bits };
  }
  return { type: 'unsupported', description: `public key algorithm ${alg}` };
}

function generalNames(value: asn1js.AsnType): { dns: string[]; ip: string[]; email: string[] } {
  const out = { dns: [] as string[], ip: [] as string[], email: [] as string[] };
  const names = new pkijs.GeneralNames({ schema: value });
  for (const n of names.names) {
    if (n.type === 2) out.dns.push(String(n.value));
    else if (n.type === 1) out.email.push(String(n.value));
    else if (n.type === 7) out.ip.push([...(n.value as asn1js.OctetString).valueBlock.valueHexView].join('.'));
    else throw malformed(`a subjectAltName of type ${n.type} that the CA does not certify`);
  }
  return out;
}

function requestedExtensions(csr: pkijs.CertificationRequest): ParsedCsr['requested'] {
  const req: { -readonly [K in keyof ParsedCsr['requested']]: ParsedCsr['requested'][K] } = { dns: [], ip: [], email: [], other: [] };
  for (const attr of csr.attributes ?? []) {
    if (attr.type !== EXT.extensionRequest) continue;
    const exts = new pkijs.Extensions({ schema: attr.values[0] });
    for (const e of exts.extensions) {
      const inner = asn1js.fromBER(e.extnValue.valueBlock.valueHexView);
      if (inner.offset === -1) throw malformed(`extension ${e.extnID} does not decode`);
      const v = inner.result;
      switch (e.extnID) {
        case EXT.keyUsage:
          req.keyUsage = keyUsagesFromBits(v as asn1js.BitString);
          break;
        case EXT.extKeyUsage: {
          const byOid = new Map<string, ExtendedKeyUsage>(Object.entries(EXTENDED_KEY_USAGES).map(([k, o]) => [o, k as ExtendedKeyUsage]));
          req.extendedKeyUsage = new pkijs.ExtKeyUsage({ schema: v }).keyPurposes.map((o) => byOid.get(o) ?? o);
          break;
        }
        case EXT.subjectAltName: {
          const g = generalNames(v);
          req.dns = g.dns;
          req.ip = g.ip;
          req.email = g.email;
          break;
        }
        case EXT.gmIdentityCode: {
          const choice = (v as asn1js.Sequence).valueBlock.value[0];
          if (!(choice instanceof asn1js.Primitive)) throw malformed('the GM/T 0015 identity code extension is not an IdentityCode');
          req.identityCode = Buffer.from(choice.valueBlock.valueHexView).toString('latin1');
          break;
        }
        case EXT.gmInsuranceNumber:
          req.insuranceNumber = String((v as asn1js.PrintableString).valueBlock.value);
          break;
        case EXT.basicConstraints:
        case EXT.subjectKeyIdentifier:
          break;
        default:
          req.other = [...req.other, e.extnID];
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
    throw malformed('the PEM block does not decode', err);
  }
  if (der.length < 16) throw malformed(`got ${der.length} bytes, too short to be a request`);
  try {
    const asn = asn1js.fromBER(der);
    if (asn.offset === -1) throw malformed(`the DER does not decode (${asn.result.error || 'truncated or corrupt'})`);
    if (asn.offset !== der.length) throw malformed(`got ${der.length - asn.offset} trailing bytes after the request`);
    const csr = new pkijs.CertificationRequest({ schema: asn.result });
    const spkiDer = new Uint8Array(csr.subjectPublicKeyInfo.toSchema().toBER(false));
    return {
      der,
      subject: nameFromPkijs(csr.subject),
      spkiDer,
      key: describeSpki(csr.subjectPublicKeyInfo),
      signatureAlgorithmOid: csr.signatureAlgorithm.algorithmId,
      requested: requestedExtensions(csr),
      tbs: new Uint8Array(csr.tbsView),
      signature: new Uint8Array(csr.signatureValue.valueBlock.valueHexView),
    };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw malformed(`its structure is not a PKCS#10 CertificationRequest (${(err as Error).message})`, err);
  }
}

/** Proof of possession: the request's signature verifies with the key it carries. */
export function verifyCsrSignature(csr: ParsedCsr): void {
  const hash = SIG_HASH[csr.signatureAlgorithmOid];
  if (!hash) throw new InputError(`CSR signature algorithm: got ${csr.signatureAlgorithmOid}, want ECDSA or RSA with SHA-256/384/512, or SM2 with SM3`);
  let ok = false;
  try {
    if (hash === 'sm3') {
      if (csr.key.type !== 'sm2') throw new InputError(`CSR signature algorithm: got SM2-with-SM3 on a ${csr.key.type} key, want SM2-with-SM3 only with an SM2 key`);
      const spki = pkijs.PublicKeyInfo.fromBER(csr.spkiDer);
      const pub = Buffer.from(spki.subjectPublicKey.valueBlock.valueHexView).toString('hex');
      ok = sm2.doVerifySignature(csr.tbs, Buffer.from(csr.signature).toString('hex'), pub, { der: true, hash: true, userId: SM2_DEFAULT_ID });
    } else {
      ok = csr.key.type !== 'sm2' && nodeVerify(hash, csr.tbs, createPublicKey({ key: Buffer.from(csr.spkiDer), format: 'der', type: 'spki' }), csr.signature);
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    ok = false;
  }
  if (!ok) throw new InputError('CSR signature does not verify: got a request not signed by the key it carries, want one signed with its own private key (proof of possession); regenerate it with openssl req -new');
}
