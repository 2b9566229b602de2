import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { bitString, children, content, explicit, generalizedTime, integer, NULL, octets, oid, oidString, readTlv, seq, stringValue, tlv, type Tlv } from '../der.js';

/**
 * The CMP wire format (RFC 4210 PKIMessage, RFC 4211 CRMF), read with a small DER walk and written
 * with the same DER helpers as certificates (pki/der.ts): the protection is computed over the exact
 * bytes of the header and body as received, which a walk keeps and an object tree would re-encode.
 * Anything that does not decode is a `CmpMalformed`, never a crash, whatever the bytes.
 */

/** PKIBody CHOICE tags (RFC 4210 §5.1.2) the server reads or writes. */
export const BODY = { ir: 0, ip: 1, cr: 2, cp: 3, p10cr: 4, kur: 7, kup: 8, rr: 11, rp: 12, pkiconf: 19, genm: 21, genp: 22, error: 23, certConf: 24 } as const;
export const BODY_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries({ ...BODY, popdecc: 5, popdecr: 6, krr: 9, krp: 10, ccr: 13, ccp: 14, ckuann: 15, cann: 16, rann: 17, crlann: 18, nested: 20, pollReq: 25, pollRep: 26 }).map(([k, v]) => [v, k]),
);

/** PKIFailureInfo bits (RFC 4210 §5.2.3). */
export const FAILURE = {
  badAlg: 0,
  badMessageCheck: 1,
  badRequest: 2,
  badTime: 3,
  badCertId: 4,
  badDataFormat: 5,
  wrongAuthority: 6,
  incorrectData: 7,
  missingTimeStamp: 8,
  badPOP: 9,
  certRevoked: 10,
  certConfirmed: 11,
  wrongIntegrity: 12,
  badRecipientNonce: 13,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  badSenderNonce: 18,
  badCertTemplate: 19,
  signerNotTrusted: 20,
  transactionIdInUse: 21,
  unsupportedVersion: 22,
  notAuthorized: 23,
  systemUnavail: 24,
  systemFailure: 25,
  duplicateCertReq: 26,
} as const;
export type FailureInfo = keyof typeof FAILURE;

export const CMP_OID = {
  passwordBasedMac: '1.2.840.113533.7.66.13',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  sm3: '1.2.156.10197.1.401',
  hmacSha1: '1.3.6.1.5.5.8.1.2',
  hmacSha256: '1.2.840.113549.2.9',
  hmacSha384: '1.2.840.113549.2.10',
  hmacSha512: '1.2.840.113549.2.11',
} as const;

const OWF: Readonly<Record<string, string>> = { [CMP_OID.sha1]: 'sha1', [CMP_OID.sha256]: 'sha256', [CMP_OID.sha384]: 'sha384', [CMP_OID.sha512]: 'sha512', [CMP_OID.sm3]: 'sm3' };
const HMAC: Readonly<Record<string, string>> = { [CMP_OID.hmacSha1]: 'sha1', [CMP_OID.hmacSha256]: 'sha256', [CMP_OID.hmacSha384]: 'sha384', [CMP_OID.hmacSha512]: 'sha512' };

/** A message that does not decode as the structure it claims to be. */
export class CmpMalformed extends Error {}

function need(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) throw new CmpMalformed(`${what} is missing`);
  if (t.tag !== tag) throw new CmpMalformed(`${what}: got tag 0x${t.tag.toString(16)}, want 0x${tag.toString(16)}`);
  return t;
}

function kids(buf: Uint8Array, t: Tlv): Tlv[] {
  try {
    return children(buf, t);
  } catch (err) {
    throw new CmpMalformed((err as Error).message);
  }
}

function small(buf: Uint8Array, t: Tlv, what: string): number {
  need(t, 0x02, what);
  const c = content(buf, t);
  if (c.length === 0 || c.length > 6 || (c[0]! & 0x80) !== 0) throw new CmpMalformed(`${what}: want a small non-negative INTEGER`);
  return c.reduce((v, b) => v * 256 + b, 0);
}

const raw = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.start, t.end);

export interface AlgorithmId {
  readonly oid: string;
  /** The parameters' DER, when present. */
  readonly params?: Uint8Array;
}

function algorithm(buf: Uint8Array, t: Tlv | undefined, what: string): AlgorithmId {
  const [o, p] = kids(buf, need(t, 0x30, what));
  let dotted: string;
  try {
    dotted = oidString(buf, need(o, 0x06, `${what} OID`));
  } catch (err) {
    throw new CmpMalformed(`${what}: ${(err as Error).message}`);
  }
  return p ? { oid: dotted, params: raw(buf, p) } : { oid: dotted };
}

export interface PkiHeader {
  readonly pvno: number;
  /** GeneralName as received (DER). */
  readonly senderDer: Uint8Array;
  /** The sender's Name (DER) when it is a directoryName. */
  readonly senderName?: Uint8Array;
  readonly recipientDer: Uint8Array;
  readonly messageTime?: Date;
  readonly protectionAlg?: AlgorithmId;
  readonly senderKid?: Uint8Array;
  readonly transactionId?: Uint8Array;
  readonly senderNonce?: Uint8Array;
  readonly recipNonce?: Uint8Array;
  /** generalInfo carries implicitConfirm (id-it-implicitConfirm). */
  readonly implicitConfirm: boolean;
}

export interface PkiMessage {
  readonly header: PkiHeader;
  readonly bodyType: number;
  /** The body's content (inside the CHOICE's explicit tag). */
  readonly body: { readonly buf: Uint8Array; readonly tlv: Tlv };
  /** SEQUENCE { header, body } exactly as received: what the protection covers. */
  readonly protectedPart: Uint8Array;
  readonly protection?: Uint8Array;
  readonly extraCerts: readonly Uint8Array[];
}

const IMPLICIT_CONFIRM = '1.3.6.1.5.5.7.4.13';

function header(buf: Uint8Array, t: Tlv): PkiHeader {
  const [pvno, sender, recipient, ...rest] = kids(buf, need(t, 0x30, 'PKIHeader'));
  if (!sender || !recipient) throw new CmpMalformed('PKIHeader: sender or recipient is missing');
  for (const g of [sender, recipient]) if ((g.tag & 0xc0) !== 0x80) throw new CmpMalformed('PKIHeader sender and recipient: want GeneralNames');
  const h: { -readonly [K in keyof PkiHeader]: PkiHeader[K] } = {
    pvno: small(buf, pvno!, 'PKIHeader pvno'),
    senderDer: raw(buf, sender),
    recipientDer: raw(buf, recipient),
    implicitConfirm: false,
  };
  if (sender.tag === 0xa4) {
    const name = kids(buf, sender)[0];
    h.senderName = raw(buf, need(name, 0x30, 'PKIHeader sender directoryName'));
  }
  let last = -1;
  for (const f of rest) {
    const n = f.tag - 0xa0;
    if (n < 0 || n > 8 || n <= last) throw new CmpMalformed(`PKIHeader: unexpected field with tag 0x${f.tag.toString(16)}`);
    last = n;
    const inner = kids(buf, f)[0];
    if (!inner) throw new CmpMalformed(`PKIHeader field [${n}] is empty`);
    const bytes = () => content(buf, need(inner, 0x04, `PKIHeader field [${n}]`)).slice();
    switch (n) {
      case 0: {
        need(inner, 0x18, 'PKIHeader messageTime');
        const s = Buffer.from(content(buf, inner)).toString('latin1');
        const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(s);
        if (!m) throw new CmpMalformed(`PKIHeader messageTime: got "${s.slice(0, 40)}", want YYYYMMDDHHMMSSZ`);
        h.messageTime = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
        break;
      }
      case 1:
        h.protectionAlg = algorithm(buf, inner, 'PKIHeader protectionAlg');
        break;
      case 2:
        h.senderKid = bytes();
        break;
      case 3:
        break;
      case 4:
        h.transactionId = bytes();
        break;
      case 5:
        h.senderNonce = bytes();
        break;
      case 6:
        h.recipNonce = bytes();
        break;
      case 7:
        break;
      case 8:
        for (const itav of kids(buf, need(inner, 0x30, 'PKIHeader generalInfo'))) {
          const [type] = kids(buf, need(itav, 0x30, 'InfoTypeAndValue'));
          try {
            if (oidString(buf, need(type, 0x06, 'InfoTypeAndValue type')) === IMPLICIT_CONFIRM) h.implicitConfirm = true;
          } catch (err) {
            throw new CmpMalformed((err as Error).message);
          }
        }
        break;
    }
  }
  return h;
}

/** Decode a PKIMessage; CmpMalformed for anything else. */
export function parsePkiMessage(der: Uint8Array): PkiMessage {
  let top: Tlv;
  try {
    top = readTlv(der, 0);
  } catch (err) {
    throw new CmpMalformed(`not DER: ${(err as Error).message}`);
  }
  if (top.end !== der.length) throw new CmpMalformed(`${der.length - top.end} bytes after the PKIMessage`);
  const [h, b, ...rest] = kids(der, need(top, 0x30, 'PKIMessage'));
  const hdr = header(der, need(h, 0x30, 'PKIHeader'));
  if (!b || (b.tag & 0xe0) !== 0xa0) throw new CmpMalformed('PKIBody: want a context-tagged body');
  const bodyType = b.tag & 0x1f;
  const inner = kids(der, b);
  if (inner.length !== 1) throw new CmpMalformed(`PKIBody ${BODY_NAMES[bodyType] ?? bodyType}: want exactly one value`);
  let protection: Uint8Array | undefined;
  const extraCerts: Uint8Array[] = [];
  let last = -1;
  for (const f of rest) {
    const n = f.tag - 0xa0;
    if (n < 0 || n > 1 || n <= last) throw new CmpMalformed(`PKIMessage: unexpected field with tag 0x${f.tag.toString(16)}`);
    last = n;
    const v = kids(der, f)[0];
    if (n === 0) {
      need(v, 0x03, 'PKIMessage protection');
      const c = content(der, v!);
      if (c.length < 1 || c[0] !== 0) throw new CmpMalformed('PKIMessage protection: want a BIT STRING of whole bytes');
      protection = c.subarray(1).slice();
    } else for (const c of kids(der, need(v, 0x30, 'PKIMessage extraCerts'))) extraCerts.push(raw(der, need(c, 0x30, 'extraCerts certificate')).slice());
  }
  return {
    header: hdr,
    bodyType,
    body: { buf: der, tlv: inner[0]! },
    protectedPart: seq(raw(der, h!), raw(der, b)),
    ...(protection ? { protection } : {}),
    extraCerts,
  };
}

// ---- password-based MAC (RFC 4210 §5.1.3.1)

export interface PbmParameters {
  readonly salt: Uint8Array;
  readonly owf: string;
  readonly iterations: number;
  readonly mac: string;
}

/** Iteration counts outside this range are refused: below is too weak, above is a way to burn the server's CPU. */
export const PBM_ITERATIONS = { min: 100, max: 100_000 } as const;

export function parsePbmParameters(alg: AlgorithmId): PbmParameters {
  if (!alg.params) throw new CmpMalformed('PBMParameter is missing');
  const buf = alg.params;
  const [salt, owf, count, mac] = kids(buf, need(readTlv(buf, 0), 0x30, 'PBMParameter'));
  const p = {
    salt: content(buf, need(salt, 0x04, 'PBMParameter salt')).slice(),
    owf: algorithm(buf, owf, 'PBMParameter owf').oid,
    iterations: small(buf, count!, 'PBMParameter iterationCount'),
    mac: algorithm(buf, mac, 'PBMParameter mac').oid,
  };
  return p;
}

/** Why a PBM cannot be checked (unsupported algorithm, unreasonable count); undefined when it can. */
export function pbmUnsupported(p: PbmParameters): string | undefined {
  if (!OWF[p.owf]) return `PBM one-way function ${p.owf}: want SHA-1, SHA-256, SHA-384, SHA-512 or SM3`;
  if (!HMAC[p.mac]) return `PBM MAC ${p.mac}: want HMAC with SHA-1, SHA-256, SHA-384 or SHA-512`;
  if (p.iterations < PBM_ITERATIONS.min || p.iterations > PBM_ITERATIONS.max) return `PBM iterationCount: got ${p.iterations}, want ${PBM_ITERATIONS.min}-${PBM_ITERATIONS.max}`;
  if (p.salt.length < 8 || p.salt.length > 64) return `PBM salt: got ${p.salt.length} bytes, want 8-64`;
  return undefined;
}

export function pbmMac(secret: Uint8Array, p: PbmParameters, data: Uint8Array): Buffer {
  const owf = OWF[p.owf]!;
  let key = createHash(owf).update(secret).update(p.salt).digest();
  for (let i = 1; i < p.iterations; i++) key = createHash(owf).update(key).digest();
  return createHmac(HMAC[p.mac]!, key).update(data).digest();
}

export function pbmVerifies(secret: Uint8Array, p: PbmParameters, data: Uint8Array, mac: Uint8Array): boolean {
  const expected = pbmMac(secret, p, data);
  return expected.length === mac.length && timingSafeEqual(expected, mac);
}

/** The protectionAlg for a fresh PBM with the request's functions and count and a new salt. */
export function pbmAlgorithm(p: Omit<PbmParameters, 'salt'>): { der: Buffer; params: PbmParameters } {
  const params: PbmParameters = { ...p, salt: randomBytes(16) };
  return { der: seq(oid(CMP_OID.passwordBasedMac), seq(octets(params.salt), seq(oid(params.owf)), integer(params.iterations), seq(oid(params.mac)))), params };
}

// ---- CRMF (RFC 4211)

export interface CertTemplate {
  /** Name DER (the RDNSequence). */
  readonly subject?: Uint8Array;
  readonly issuer?: Uint8Array;
  readonly serial?: string;
  /** SubjectPublicKeyInfo DER (re-tagged from [6]). */
  readonly publicKey?: Uint8Array;
  readonly extensions: readonly { readonly oid: string; readonly value: Uint8Array }[];
}

function certTemplate(buf: Uint8Array, t: Tlv): CertTemplate {
  const out: { -readonly [K in keyof CertTemplate]: CertTemplate[K] } = { extensions: [] };
  for (const f of kids(buf, need(t, 0x30, 'CertTemplate'))) {
    switch (f.tag) {
      case 0x81: {
        const c = content(buf, f);
        if (c.length === 0 || c.length > 40) throw new CmpMalformed('CertTemplate serialNumber: want 1-40 bytes');
        out.serial = Buffer.from(c).toString('hex').replace(/^0+(?=.)/, '');
        break;
      }
      case 0xa3:
        out.issuer = raw(buf, need(kids(buf, f)[0], 0x30, 'CertTemplate issuer'));
        break;
      case 0xa5:
        out.subject = raw(buf, need(kids(buf, f)[0], 0x30, 'CertTemplate subject'));
        break;
      case 0xa6: {
        const [alg, key, more] = kids(buf, f);
        need(alg, 0x30, 'CertTemplate publicKey algorithm');
        need(key, 0x03, 'CertTemplate publicKey');
        if (more) throw new CmpMalformed('CertTemplate publicKey: unexpected field');
        out.publicKey = tlv(0x30, content(buf, f));
        break;
      }
      case 0xa9:
        for (const e of kids(buf, f)) {
          const parts = kids(buf, need(e, 0x30, 'CertTemplate extension'));
          const id = parts[0];
          try {
            out.extensions = [...out.extensions, { oid: oidString(buf, need(id, 0x06, 'extension id')), value: content(buf, need(parts[parts.length - 1], 0x04, 'extension value')).slice() }];
          } catch (err) {
            if (err instanceof CmpMalformed) throw err;
            throw new CmpMalformed((err as Error).message);
          }
        }
        break;
      case 0x80:
      case 0xa2:
      case 0xa4:
      case 0x87:
      case 0x88:
        break;
      default:
        throw new CmpMalformed(`CertTemplate: unexpected field with tag 0x${f.tag.toString(16)}`);
    }
  }
  return out;
}

export interface CertReqMsg {
  readonly certReqId: number;
  readonly template: CertTemplate;
  /** POPOSigningKey, when the proof of possession is a signature (the only kind accepted). */
  readonly pop?: { readonly algorithmOid: string; readonly signed: Uint8Array; readonly signature: Uint8Array; readonly withInput: boolean };
  /** The kind of proof when it is not a signature (raVerified, keyEncipherment, keyAgreement). */
  readonly otherPop?: number;
  /** regCtrl-oldCertID (kur): the certificate being updated. */
  readonly oldCert?: { readonly issuer: Uint8Array; readonly serial: string };
}

const OLD_CERT_ID = '1.3.6.1.5.5.7.5.1.5';

/** CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg */
export function parseCertReqMessages(m: PkiMessage): CertReqMsg[] {
  const { buf, tlv: t } = m.body;
  const out: CertReqMsg[] = [];
  for (const msg of kids(buf, need(t, 0x30, 'CertReqMessages'))) {
    const [certReq, popo] = kids(buf, need(msg, 0x30, 'CertReqMsg'));
    const [id, tmpl, controls] = kids(buf, need(certReq, 0x30, 'CertRequest'));
    const r: { -readonly [K in keyof CertReqMsg]: CertReqMsg[K] } = { certReqId: small(buf, id!, 'certReqId'), template: certTemplate(buf, need(tmpl, 0x30, 'CertTemplate')) };
    if (controls) {
      for (const c of kids(buf, need(controls, 0x30, 'Controls'))) {
        const [type, value] = kids(buf, need(c, 0x30, 'AttributeTypeAndValue'));
        let o: string;
        try {
          o = oidString(buf, need(type, 0x06, 'control type'));
        } catch (err) {
          throw new CmpMalformed((err as Error).message);
        }
        if (o !== OLD_CERT_ID) continue;
        const [issuer, serial] = kids(buf, need(value, 0x30, 'oldCertID'));
        const dn = kids(buf, need(issuer, 0xa4, 'oldCertID issuer'))[0];
        const s = content(buf, need(serial, 0x02, 'oldCertID serialNumber'));
        r.oldCert = { issuer: raw(buf, need(dn, 0x30, 'oldCertID issuer name')).slice(), serial: Buffer.from(s).toString('hex').replace(/^0+(?=.)/, '') };
      }
    }
    if (popo && popo.tag === 0xa1) {
      const parts = kids(buf, popo);
      const withInput = parts[0]?.tag === 0xa0;
      const [alg, sig] = withInput ? parts.slice(1) : parts;
      need(sig, 0x03, 'POPOSigningKey signature');
      const s = content(buf, sig!);
      if (s.length < 2 || s[0] !== 0) throw new CmpMalformed('POPOSigningKey signature: want a BIT STRING of whole bytes');
      r.pop = { algorithmOid: algorithm(buf, alg, 'POPOSigningKey algorithmIdentifier').oid, signed: raw(buf, certReq!).slice(), signature: s.subarray(1).slice(), withInput };
    } else if (popo) r.otherPop = popo.tag & 0x1f;
    out.push(r);
  }
  if (out.length === 0) throw new CmpMalformed('CertReqMessages is empty');
  return out;
}

/** p10cr: the PKCS#10 request's DER. */
export function p10crRequest(m: PkiMessage): Uint8Array {
  return raw(m.body.buf, need(m.body.tlv, 0x30, 'CertificationRequest')).slice();
}

/** CertConfirmContent ::= SEQUENCE OF CertStatus { certHash, certReqId, statusInfo OPTIONAL } */
export function parseCertConf(m: PkiMessage): { certHash: Uint8Array; certReqId: number; accepted: boolean }[] {
  const { buf, tlv: t } = m.body;
  return kids(buf, need(t, 0x30, 'CertConfirmContent')).map((cs) => {
    const [hash, id, status] = kids(buf, need(cs, 0x30, 'CertStatus'));
    let accepted = true;
    if (status) {
      const [code] = kids(buf, need(status, 0x30, 'CertStatus statusInfo'));
      accepted = small(buf, code!, 'PKIStatus') === 0;
    }
    return { certHash: content(buf, need(hash, 0x04, 'CertStatus certHash')).slice(), certReqId: small(buf, id!, 'CertStatus certReqId'), accepted };
  });
}

/** RevReqContent ::= SEQUENCE OF RevDetails { certDetails CertTemplate, crlEntryDetails OPTIONAL } */
export function parseRevReq(m: PkiMessage): { template: CertTemplate; reason?: number }[] {
  const { buf, tlv: t } = m.body;
  const out = kids(buf, need(t, 0x30, 'RevReqContent')).map((rd) => {
    const [tmpl, exts] = kids(buf, need(rd, 0x30, 'RevDetails'));
    let reason: number | undefined;
    if (exts) {
      for (const e of kids(buf, need(exts, 0x30, 'crlEntryDetails'))) {
        const parts = kids(buf, need(e, 0x30, 'crlEntryDetails extension'));
        let id: string;
        try {
          id = oidString(buf, need(parts[0], 0x06, 'extension id'));
        } catch (err) {
          throw new CmpMalformed((err as Error).message);
        }
        if (id !== '2.5.29.21') continue;
        const v = content(buf, need(parts[parts.length - 1], 0x04, 'reasonCode'));
        const inner = readTlv(v, 0);
        reason = small(v, { ...inner, tag: inner.tag === 0x0a ? 0x02 : inner.tag }, 'reasonCode');
      }
    }
    return { template: certTemplate(buf, need(tmpl, 0x30, 'CertTemplate')), ...(reason !== undefined ? { reason } : {}) };
  });
  if (out.length === 0) throw new CmpMalformed('RevReqContent is empty');
  return out;
}

/** The attributes of a Name (DER): type as OID, value as text. */
export function nameAttributes(name: Uint8Array): { oid: string; value: string }[] {
  const out: { oid: string; value: string }[] = [];
  const top = readTlv(name, 0);
  for (const rdn of kids(name, need(top, 0x30, 'Name'))) {
    for (const atv of kids(name, need(rdn, 0x31, 'RDN'))) {
      const [type, value] = kids(name, need(atv, 0x30, 'AttributeTypeAndValue'));
      let o: string;
      try {
        o = oidString(name, need(type, 0x06, 'attribute type'));
      } catch (err) {
        throw new CmpMalformed((err as Error).message);
      }
      if (!value) throw new CmpMalformed('attribute value is missing');
      const text = stringValue(name, value);
      if (text === undefined) throw new CmpMalformed(`attribute ${o}: want a character string`);
      out.push({ oid: o, value: text });
    }
  }
  return out;
}

/** PKIStatusInfo: status, the texts and the failure bits set. */
function readStatusInfo(buf: Uint8Array, t: Tlv): { status: number; text: string; failures: FailureInfo[] } {
  const [code, ...rest] = kids(buf, need(t, 0x30, 'PKIStatusInfo'));
  let text = '';
  const failures: FailureInfo[] = [];
  for (const f of rest) {
    if (f.tag === 0x30) text = kids(buf, f).map((s) => stringValue(buf, s) ?? '').join(' ');
    else if (f.tag === 0x03) {
      const c = content(buf, f).subarray(1);
      for (const [name, bit] of Object.entries(FAILURE)) if ((c[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) failures.push(name as FailureInfo);
    }
  }
  return { status: small(buf, code!, 'PKIStatus'), text, failures };
}

/** An ip/cp/kup (the first response) or an error message, as a client reads it. */
export function parseCertRep(m: PkiMessage): { status: number; text: string; failures: FailureInfo[]; certificate?: Uint8Array } {
  const { buf, tlv: t } = m.body;
  if (m.bodyType === BODY.error) return readStatusInfo(buf, kids(buf, need(t, 0x30, 'ErrorMsgContent'))[0]!);
  const parts = kids(buf, need(t, 0x30, 'CertRepMessage'));
  const responses = parts[parts.length - 1];
  const first = kids(buf, need(responses, 0x30, 'CertRepMessage response'))[0];
  const [, status, ckp] = kids(buf, need(first, 0x30, 'CertResponse'));
  const info = readStatusInfo(buf, status!);
  if (!ckp) return info;
  const choice = kids(buf, need(ckp, 0x30, 'CertifiedKeyPair'))[0];
  const cert = kids(buf, need(choice, 0xa0, 'CertOrEncCert certificate'))[0];
  return { ...info, certificate: raw(buf, need(cert, 0x30, 'certificate')).slice() };
}

// ---- writing responses

export interface ResponseHeader {
  /** The server's Name (DER): the CA certificate's subject. */
  readonly senderName: Uint8Array;
  /** The requester's GeneralName as it sent it (DER), or a NULL-DN. */
  readonly recipientDer: Uint8Array;
  readonly protectionAlgDer: Uint8Array;
  /** The server's own key id: never the requester's. */
  readonly senderKid?: Uint8Array;
  readonly transactionId?: Uint8Array;
  readonly recipNonce?: Uint8Array;
  readonly implicitConfirm?: boolean;
}

export const NULL_DN_NAME = seq();

export function encodeHeader(h: ResponseHeader, now = new Date()): Buffer {
  return seq(
    integer(2),
    explicit(4, Buffer.from(h.senderName)),
    Buffer.from(h.recipientDer),
    explicit(0, generalizedTime(now)),
    explicit(1, Buffer.from(h.protectionAlgDer)),
    ...(h.senderKid ? [explicit(2, octets(h.senderKid))] : []),
    ...(h.transactionId ? [explicit(4, octets(h.transactionId))] : []),
    explicit(5, octets(randomBytes(16))),
    ...(h.recipNonce ? [explicit(6, octets(h.recipNonce))] : []),
    ...(h.implicitConfirm ? [explicit(8, seq(seq(oid(IMPLICIT_CONFIRM), NULL)))] : []),
  );
}

/** The body with its CHOICE tag. */
export function encodeBody(type: number, value: Uint8Array): Buffer {
  return tlv(0xa0 + type, value);
}

export function assembleMessage(headerDer: Uint8Array, bodyDer: Uint8Array, protection: Uint8Array, extraCerts: readonly Uint8Array[]): Buffer {
  return seq(headerDer, bodyDer, explicit(0, bitString(protection)), ...(extraCerts.length ? [explicit(1, seq(...extraCerts))] : []));
}

function failureBits(failures: readonly FailureInfo[]): Buffer {
  const top = Math.max(...failures.map((f) => FAILURE[f]));
  const bytes = Buffer.alloc((top >> 3) + 1);
  for (const f of failures) bytes[FAILURE[f] >> 3]! |= 0x80 >> (FAILURE[f] & 7);
  return tlv(0x03, [Buffer.from([7 - (top & 7)]), bytes]);
}

const freeText = (text: string) => seq(tlv(0x0c, Buffer.from(text, 'utf8')));

/** PKIStatusInfo: 0 accepted, 2 rejection; failure bits and a text with a rejection. */
export function statusInfo(status: 0 | 2, text?: string, failures: readonly FailureInfo[] = []): Buffer {
  return seq(integer(status), ...(text !== undefined ? [freeText(text)] : []), ...(failures.length ? [failureBits(failures)] : []));
}

/** CertRepMessage with one CertResponse. */
export function certRepContent(certReqId: number, certificateDer: Uint8Array | undefined, status: Uint8Array, caPubs: readonly Uint8Array[] = []): Buffer {
  const response = seq(integer(certReqId), Buffer.from(status), ...(certificateDer ? [seq(explicit(0, Buffer.from(certificateDer)))] : []));
  return seq(...(caPubs.length ? [explicit(1, seq(...caPubs))] : []), seq(response));
}

export function errorContent(failures: readonly FailureInfo[], text: string): Buffer {
  return seq(statusInfo(2, text, failures));
}

export function revRepContent(status: Uint8Array): Buffer {
  return seq(seq(Buffer.from(status)));
}

export const PKI_CONF_CONTENT = NULL;
