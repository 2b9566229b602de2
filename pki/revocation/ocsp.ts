import { createHash } from 'node:crypto';
import { bitString, children, enumerated, explicit, extension, generalizedTime, octets, oid, readTlv, seq, signatureAlgorithm, tlv, type Tlv } from './der.js';
import { caInfo, type CaInfo } from './ca-info.js';
import { REASON_CODES, type CaSigner, type ReasonName } from './ports.js';

/** OCSPResponseStatus (RFC 6960 4.2.1). */
export const OCSP_STATUS = { successful: 0, malformedRequest: 1, internalError: 2, tryLater: 3, sigRequired: 5, unauthorized: 6 } as const;
export type OcspResponseStatus = keyof typeof OCSP_STATUS;

const OID_BASIC = '1.3.6.1.5.5.7.48.1.1';
const OID_NONCE = '1.3.6.1.5.5.7.48.1.2';
const HASHES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/** More CertIDs than this in one request is not a client, it is a load generator. */
export const MAX_CERT_IDS = 32;
/** RFC 8954: nonces are 1..32 octets; we echo up to 128 octets of extension value. */
const MAX_NONCE_VALUE = 128;

/** An unsuccessful OCSPResponse: just the status (no responseBytes, not signed). */
export function statusOnlyResponse(status: Exclude<OcspResponseStatus, 'successful'>): Buffer {
  return seq(enumerated(OCSP_STATUS[status]));
}

export interface ParsedCertId {
  /** The CertID exactly as the client sent it, echoed in the answer. */
  readonly der: Buffer;
  /** Node hash name, or undefined when the hash algorithm is not one we serve. */
  readonly hash: string | undefined;
  readonly nameHash: Buffer;
  readonly keyHash: Buffer;
  /** Canonical serial: lowercase hex, no leading zero bytes, even length. */
  readonly serial: string;
}

export interface ParsedOcspRequest {
  readonly certIds: readonly ParsedCertId[];
  /** The nonce extension's extnValue, echoed byte for byte. */
  readonly nonce?: Buffer;
}

export class MalformedOcspRequest extends Error {}

/** Canonical serial from INTEGER content bytes (matches the certificate store's form). */
export function serialFromBytes(bytes: Uint8Array): string {
  let h = Buffer.from(bytes).toString('hex').replace(/^(00)+/, '');
  if (h === '') h = '00';
  return h;
}

/**
 * Parse a DER OCSPRequest (RFC 6960 4.1.1) with a strict TLV walk: every length is checked against
 * its parent, unexpected tags are refused, nothing is allocated beyond the result. It runs per
 * uncached request, where a pkijs object tree costs ~10x more; the tests hold it to pkijs's reading
 * of the same bytes (differential fuzzing). Anything it cannot read is a MalformedOcspRequest.
 */
export function parseOcspRequest(input: Uint8Array): ParsedOcspRequest {
  const der = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  try {
    return walkRequest(der);
  } catch (err) {
    if (err instanceof MalformedOcspRequest) throw err;
    throw new MalformedOcspRequest(`not an OCSPRequest: ${(err as Error).message}`);
  }
}

function expectTag(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) throw new MalformedOcspRequest(`${what}: got tag 0x${t.tag.toString(16)}, want 0x${tag.toString(16)}`);
  return t;
}

/** An OBJECT IDENTIFIER's content: non-empty, each sub-identifier minimal and terminated. */
function expectOid(der: Buffer, t: Tlv, what: string): Buffer {
  const c = der.subarray(expectTag(t, 0x06, what).contentStart, t.end);
  let start = true;
  for (const byte of c) {
    if (start && byte === 0x80) throw new MalformedOcspRequest(`${what}: non-minimal object identifier`);
    start = (byte & 0x80) === 0;
  }
  if (!start || c.length === 0) throw new MalformedOcspRequest(`${what}: truncated object identifier`);
  return c;
}

function walkRequest(der: Buffer): ParsedOcspRequest {
  const outer = expectTag(readTlv(der, 0), 0x30, 'OCSPRequest');
  if (outer.end !== der.length) throw new MalformedOcspRequest('trailing bytes after the OCSPRequest');
  const top = children(der, outer);
  if (top.length < 1 || top.length > 2 || (top[1] !== undefined && top[1].tag !== 0xa0)) throw new MalformedOcspRequest('OCSPRequest: want tbsRequest and an optional signature');
  const tbs = children(der, expectTag(top[0]!, 0x30, 'tbsRequest'));
  let i = 0;
  if (tbs[i]?.tag === 0xa0) i++; // version, v1 only in practice
  if (tbs[i]?.tag === 0xa1) i++; // requestorName
  const list = expectTag(tbs[i++] ?? fail('tbsRequest has no requestList'), 0x30, 'requestList');
  const exts = tbs[i]?.tag === 0xa2 ? tbs[i++] : undefined;
  if (i !== tbs.length) throw new MalformedOcspRequest('tbsRequest: unexpected fields');
  const requests = children(der, list);
  if (requests.length === 0) throw new MalformedOcspRequest('the request lists no certificate');
  if (requests.length > MAX_CERT_IDS) throw new MalformedOcspRequest(`the request lists ${requests.length} certificates; at most ${MAX_CERT_IDS} are answered at once`);
  const certIds = requests.map((r) => {
    const parts = children(der, expectTag(r, 0x30, 'Request'));
    if (parts.length < 1 || parts.length > 2 || (parts[1] !== undefined && parts[1].tag !== 0xa0)) throw new MalformedOcspRequest('Request: want reqCert and optional extensions');
    const certId = expectTag(parts[0]!, 0x30, 'CertID');
    const f = children(der, certId);
    if (f.length !== 4) throw new MalformedOcspRequest(`CertID: got ${f.length} fields, want 4`);
    const alg = children(der, expectTag(f[0]!, 0x30, 'hashAlgorithm'));
    const algOid = expectOid(der, alg[0] ?? fail('hashAlgorithm is empty'), 'hashAlgorithm');
    // Hash AlgorithmIdentifiers carry NULL parameters or none.
    if (alg.length > 2 || (alg[1] !== undefined && (alg[1].tag !== 0x05 || alg[1].end !== alg[1].contentStart))) throw new MalformedOcspRequest('hashAlgorithm: want an OID with NULL or absent parameters');
    const serial = expectTag(f[3]!, 0x02, 'serialNumber');
    if (serial.end === serial.contentStart) throw new MalformedOcspRequest('serialNumber is empty');
    return {
      der: der.subarray(certId.start, certId.end),
      hash: HASH_BY_DER.get(algOid.toString('hex')),
      nameHash: der.subarray(expectTag(f[1]!, 0x04, 'issuerNameHash').contentStart, f[1]!.end),
      keyHash: der.subarray(expectTag(f[2]!, 0x04, 'issuerKeyHash').contentStart, f[2]!.end),
      serial: serialFromBytes(der.subarray(serial.contentStart, serial.end)),
    };
  });
  if (exts === undefined) return { certIds };
  let nonce: Buffer | undefined;
  for (const ext of children(der, expectTag(children(der, exts)[0] ?? fail('empty requestExtensions'), 0x30, 'Extensions'))) {
    const e = children(der, expectTag(ext, 0x30, 'Extension'));
    if (e.length < 2 || e.length > 3 || (e.length === 3 && (e[1]!.tag !== 0x01 || e[1]!.end - e[1]!.contentStart !== 1))) {
      throw new MalformedOcspRequest('Extension: want extnID, an optional critical BOOLEAN, extnValue');
    }
    const id = expectOid(der, e[0]!, 'extnID');
    const value = expectTag(e[e.length - 1]!, 0x04, 'extnValue');
    if (id.equals(NONCE_OID_CONTENT)) nonce = der.subarray(value.contentStart, value.end);
  }
  if (nonce === undefined) return { certIds };
  if (nonce.length === 0 || nonce.length > MAX_NONCE_VALUE) throw new MalformedOcspRequest(`nonce of ${nonce.length} octets; want 1 to 32`);
  return { certIds, nonce };
}

function fail(message: string): never {
  throw new MalformedOcspRequest(message);
}

const HASH_BY_DER = new Map(Object.entries(HASHES).map(([dotted, name]) => [oid(dotted).subarray(2).toString('hex'), name]));
const NONCE_OID_CONTENT = oid(OID_NONCE).subarray(2);

export type CertStatus = { readonly kind: 'good' } | { readonly kind: 'unknown' } | { readonly kind: 'revoked'; readonly at: Date; readonly reason: ReasonName };

/** A CA this responder answers for, and the delegated OCSP-signing certificate that signs its answers. */
export interface OcspAuthority {
  readonly caId: string;
  readonly ca: CaInfo;
  /** The delegated responder: certificate with id-kp-OCSPSigning issued by this CA, and its key. */
  readonly signer: CaSigner;
  /** ResponderID byKey: SHA-1 of the responder certificate's public key. */
  readonly responderKeyHash: Buffer;
  readonly responderCert: Buffer;
}

export function ocspAuthority(caId: string, caCertificateDer: Uint8Array, responderSigner: CaSigner): OcspAuthority {
  const responder = caInfo(responderSigner.certificateDer);
  return {
    caId,
    ca: caInfo(caCertificateDer),
    signer: responderSigner,
    responderKeyHash: createHash('sha1').update(responder.publicKey).digest(),
    responderCert: Buffer.from(responderSigner.certificateDer),
  };
}

/** Which authority issued the certificate a CertID names, if any. */
export function matchAuthority(authorities: readonly OcspAuthority[], id: ParsedCertId): OcspAuthority | undefined {
  if (id.hash === undefined) return undefined;
  return authorities.find((a) => {
    const h = a.ca.certIdHashes.get(id.hash!);
    return h !== undefined && h.nameHash.equals(id.nameHash) && h.keyHash.equals(id.keyHash);
  });
}

function certStatus(s: CertStatus): Buffer {
  if (s.kind === 'good') return Buffer.from([0x80, 0x00]);
  if (s.kind === 'unknown') return Buffer.from([0x82, 0x00]);
  // revoked [1] IMPLICIT RevokedInfo { revocationTime, revocationReason [0] EXPLICIT CRLReason }
  return tlv(0xa1, [generalizedTime(s.at), explicit(0, enumerated(REASON_CODES[s.reason]))]);
}

export interface SingleAnswer {
  readonly certId: Buffer;
  readonly status: CertStatus;
}

/** Build and sign a successful OCSPResponse (BasicOCSPResponse, ResponderID byKey, responder cert included). */
export async function signedResponse(
  authority: OcspAuthority,
  answers: readonly SingleAnswer[],
  opts: { producedAt: Date; nextUpdate: Date; nonce?: Buffer },
): Promise<Buffer> {
  const fixed = fixedParts(authority);
  const produced = generalizedTime(opts.producedAt);
  const next = explicit(0, generalizedTime(opts.nextUpdate));
  const singles = answers.map((a) => seq(a.certId, certStatus(a.status), produced, next));
  const parts = [fixed.responderId, produced, seq(...singles)];
  if (opts.nonce !== undefined) parts.push(explicit(1, seq(extension(OID_NONCE, opts.nonce))));
  const tbs = seq(...parts);
  const signature = Buffer.from(await authority.signer.sign(tbs));
  const basic = seq(tbs, fixed.algorithm, bitString(signature), fixed.certs);
  return seq(fixed.status, explicit(0, seq(fixed.basicOid, octets(basic))));
}

interface FixedParts {
  readonly responderId: Buffer;
  readonly algorithm: Buffer;
  readonly certs: Buffer;
  readonly status: Buffer;
  readonly basicOid: Buffer;
}

/** What every answer of one authority repeats, encoded once (a busy responder signs thousands a second). */
const FIXED = new WeakMap<OcspAuthority, FixedParts>();

function fixedParts(authority: OcspAuthority): FixedParts {
  let f = FIXED.get(authority);
  if (f === undefined) {
    f = {
      responderId: tlv(0xa2, octets(authority.responderKeyHash)),
      algorithm: signatureAlgorithm(authority.signer.signatureAlgorithmOid),
      certs: explicit(0, seq(authority.responderCert)),
      status: enumerated(OCSP_STATUS.successful),
      basicOid: oid(OID_BASIC),
    };
    FIXED.set(authority, f);
  }
  return f;
}
