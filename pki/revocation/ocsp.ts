import { createHash } from 'node:crypto';
import * as pkijs from 'pkijs';
import { bitString, enumerated, explicit, extension, generalizedTime, octets, oid, seq, signatureAlgorithm, tlv } from './der.js';
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

/** Parse a DER OCSPRequest with pkijs; anything it cannot read is a MalformedOcspRequest. */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  let req: pkijs.OCSPRequest;
  try {
    req = pkijs.OCSPRequest.fromBER(der);
  } catch (err) {
    throw new MalformedOcspRequest(`not an OCSPRequest: ${(err as Error).message}`);
  }
  const list = req.tbsRequest.requestList;
  if (list.length === 0) throw new MalformedOcspRequest('the request lists no certificate');
  if (list.length > MAX_CERT_IDS) throw new MalformedOcspRequest(`the request lists ${list.length} certificates; at most ${MAX_CERT_IDS} are answered at once`);
  const certIds = list.map((r) => {
    const c = r.reqCert;
    return {
      der: Buffer.from(c.toSchema().toBER(false)),
      hash: HASHES[c.hashAlgorithm.algorithmId],
      nameHash: Buffer.from(c.issuerNameHash.valueBlock.valueHexView),
      keyHash: Buffer.from(c.issuerKeyHash.valueBlock.valueHexView),
      serial: serialFromBytes(c.serialNumber.valueBlock.valueHexView),
    };
  });
  const nonceExt = req.tbsRequest.requestExtensions?.find((e) => e.extnID === OID_NONCE);
  if (nonceExt === undefined) return { certIds };
  const nonce = Buffer.from(nonceExt.extnValue.valueBlock.valueHexView);
  if (nonce.length === 0 || nonce.length > MAX_NONCE_VALUE) throw new MalformedOcspRequest(`nonce of ${nonce.length} octets; want 1 to 32`);
  return { certIds, nonce };
}

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
  const produced = generalizedTime(opts.producedAt);
  const next = explicit(0, generalizedTime(opts.nextUpdate));
  const singles = answers.map((a) => seq(a.certId, certStatus(a.status), produced, next));
  const parts = [tlv(0xa2, octets(authority.responderKeyHash)), produced, seq(...singles)];
  if (opts.nonce !== undefined) parts.push(explicit(1, seq(extension(OID_NONCE, opts.nonce))));
  const tbs = seq(...parts);
  const signature = Buffer.from(await authority.signer.sign(tbs));
  const basic = seq(tbs, signatureAlgorithm(authority.signer.signatureAlgorithmOid), bitString(signature), explicit(0, seq(authority.responderCert)));
  return seq(enumerated(OCSP_STATUS.successful), explicit(0, seq(oid(OID_BASIC), octets(basic))));
}
