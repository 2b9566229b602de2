import { bitString, derLength, explicit, extension, integer, seq, signatureAlgorithm, time, tlv } from './der.js';
import type { CaInfo } from './ca-info.js';
import type { CaSigner } from './ports.js';

const OID = {
  authorityKeyIdentifier: '2.5.29.35',
  crlNumber: '2.5.29.20',
  deltaCrlIndicator: '2.5.29.27',
  freshestCrl: '2.5.29.46',
  reasonCode: '2.5.29.21',
  issuingDistributionPoint: '2.5.29.28',
  expiredCertsOnCrl: '2.5.29.60',
} as const;

export interface CrlInput {
  readonly signer: CaSigner;
  readonly ca: CaInfo;
  readonly number: number;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** Makes this a delta CRL over the full CRL with this number (critical DeltaCRLIndicator). */
  readonly baseNumber?: number;
  /** Where the delta CRLs are published; a full CRL names it in FreshestCRL so relying parties look for deltas. */
  readonly deltaUrl?: string;
  /**
   * The CRL's scope (critical IssuingDistributionPoint, RFC 5280 5.2.5): the URI its certificates'
   * CRL distribution point names, and whether it lists end-entity certificates only. @default none (a complete CRL)
   */
  readonly issuingDistributionPoint?: { readonly url: string; readonly onlyContainsUserCerts: boolean };
  /** ExpiredCertsOnCRL (X.509 2.5.29.60): entries of certificates expired since this time stay listed. @default none (expired entries are dropped) */
  readonly expiredCertsOnCrl?: Date;
}

export interface BuiltCrl {
  readonly der: Buffer;
  readonly entries: number;
}

/**
 * Grows one buffer for the revokedCertificates contents. Entries are written in place, so a million
 * of them cost one allocation pattern, not a million small Buffers.
 */
class EntryWriter {
  buf = Buffer.allocUnsafe(1 << 16);
  length = 0;

  ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

/** crlEntryExtensions with only a reasonCode, per code (absent for unspecified, RFC 5280 5.3.1). */
const reasonExtensions = new Map<number, Buffer>();
function reasonExtension(code: number): Buffer {
  let b = reasonExtensions.get(code);
  if (b === undefined) {
    b = code === 0 ? Buffer.alloc(0) : seq(extension(OID.reasonCode, tlv(0x0a, Buffer.from([code]))));
    reasonExtensions.set(code, b);
  }
  return b;
}

/** Tag and date digits ("YYMMDD" or "YYYYMMDD") of one day, for writing Time values in place. */
interface DayPrefix {
  readonly tag: number;
  readonly digits: Buffer;
}

function dayPrefix(day: number): DayPrefix {
  const d = new Date(day * 86_400_000);
  const y = d.getUTCFullYear();
  const mmdd = `${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  // RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050.
  return y < 2050 ? { tag: 0x17, digits: Buffer.from(`${String(y % 100).padStart(2, '0')}${mmdd}`, 'latin1') } : { tag: 0x18, digits: Buffer.from(`${y}${mmdd}`, 'latin1') };
}

const hexValue = (c: number): number => (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);

/** Writes revokedCertificates entries one at a time into one growing buffer (see encodeRevoked). */
class RevokedEncoder {
  private readonly w = new EntryWriter();
  private lastDay = Number.NaN;
  private prefix: DayPrefix = dayPrefix(0);
  entries = 0;

  add(serial: string, seconds: number, reason: number): void {
    const w = this.w;
    const day = Math.floor(seconds / 86_400);
    if (day !== this.lastDay) {
      this.prefix = dayPrefix(day);
      this.lastDay = day;
    }
    const ext = reasonExtension(reason);
    const hexLen = serial.length;
    const odd = hexLen & 1;
    // A positive INTEGER needs a leading 0x00 when its top bit is set.
    const pad = !odd && hexValue(serial.charCodeAt(0)) >= 8 ? 1 : 0;
    const intLen = ((hexLen + 1) >> 1) + pad;
    const timeLen = this.prefix.digits.length + 7;
    const bodyLen = 2 + intLen + 2 + timeLen + ext.length;
    const header = derLength(bodyLen);
    w.ensure(1 + header.length + bodyLen);
    const b = w.buf;
    let p = w.length;
    b[p++] = 0x30;
    for (let i = 0; i < header.length; i++) b[p++] = header[i]!;
    b[p++] = 0x02;
    b[p++] = intLen;
    if (pad) b[p++] = 0;
    if (odd) {
      b[p++] = hexValue(serial.charCodeAt(0));
      p += b.write(serial.slice(1), p, 'hex');
    } else {
      p += b.write(serial, p, 'hex');
    }
    b[p++] = this.prefix.tag;
    b[p++] = timeLen;
    p += this.prefix.digits.copy(b, p);
    let rem = seconds - day * 86_400;
    const hh = Math.floor(rem / 3600);
    rem -= hh * 3600;
    const mm = Math.floor(rem / 60);
    const ss = rem - mm * 60;
    b[p++] = 0x30 + Math.floor(hh / 10);
    b[p++] = 0x30 + (hh % 10);
    b[p++] = 0x30 + Math.floor(mm / 10);
    b[p++] = 0x30 + (mm % 10);
    b[p++] = 0x30 + Math.floor(ss / 10);
    b[p++] = 0x30 + (ss % 10);
    b[p++] = 0x5a;
    p += ext.copy(b, p);
    w.length = p;
    this.entries++;
  }

  result(): { contents: Buffer; entries: number } {
    return { contents: this.w.buf.subarray(0, this.w.length), entries: this.entries };
  }
}

/**
 * Encode the revokedCertificates contents in one pass over `rows` ([serial hex, unix seconds, reason]).
 * Everything is written in place into one growing buffer: no per-entry allocation. Serial hex is
 * lowercase or uppercase digits without a sign (the store's canonical form).
 */
export function encodeRevoked(rows: Iterable<readonly [string, number, number]>): { contents: Buffer; entries: number } {
  const enc = new RevokedEncoder();
  for (const [serial, seconds, reason] of rows) enc.add(serial, seconds, reason);
  return enc.result();
}

function freshestCrl(url: string): Buffer {
  // CRLDistributionPoints syntax: SEQUENCE { DistributionPoint { [0] { fullName [0] { uniformResourceIdentifier [6] } } } }
  return seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from(url, 'ascii'))))));
}

function issuingDistributionPoint(idp: NonNullable<CrlInput['issuingDistributionPoint']>): Buffer {
  // SEQUENCE { distributionPoint [0] { fullName [0] { uniformResourceIdentifier [6] } }, onlyContainsUserCerts [1] TRUE }
  return seq(tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from(idp.url, 'ascii')))), ...(idp.onlyContainsUserCerts ? [tlv(0x81, Buffer.from([0xff]))] : []));
}

/** GeneralizedTime (ExpiredCertsOnCRL is one whatever the year, unlike Time). */
function generalizedTime(d: Date): Buffer {
  return tlv(0x18, Buffer.from(`${d.toISOString().slice(0, 19).replace(/[-T:]/g, '')}Z`, 'latin1'));
}

/** The TBSCertList around already-encoded revokedCertificates contents. */
export function tbsCertList(input: CrlInput, revoked: { contents: Buffer; entries: number }): Buffer {
  const exts: Buffer[] = [
    extension(OID.authorityKeyIdentifier, seq(tlv(0x80, input.ca.keyId))),
    extension(OID.crlNumber, integer(input.number)),
  ];
  if (input.baseNumber !== undefined) exts.push(extension(OID.deltaCrlIndicator, integer(input.baseNumber), true));
  else if (input.deltaUrl !== undefined) exts.push(extension(OID.freshestCrl, freshestCrl(input.deltaUrl)));
  if (input.issuingDistributionPoint !== undefined) exts.push(extension(OID.issuingDistributionPoint, issuingDistributionPoint(input.issuingDistributionPoint), true));
  if (input.expiredCertsOnCrl !== undefined) exts.push(extension(OID.expiredCertsOnCrl, generalizedTime(input.expiredCertsOnCrl)));
  const head = [
    integer(1),
    signatureAlgorithm(input.signer.signatureAlgorithmOid),
    input.ca.subject,
    time(input.thisUpdate),
    time(input.nextUpdate),
  ];
  // An empty list is omitted, not encoded as an empty SEQUENCE (RFC 5280 5.1.2.6).
  const revokedParts = revoked.entries === 0 ? [] : [Buffer.from([0x30]), derLength(revoked.contents.length), revoked.contents];
  const tail = explicit(0, seq(...exts));
  let len = tail.length;
  for (const p of [...head, ...revokedParts]) len += p.length;
  return Buffer.concat([Buffer.from([0x30]), derLength(len), ...head, ...revokedParts, tail]);
}

/** Sign a TBSCertList into a CertificateList. */
export async function signCrl(signer: CaSigner, tbs: Buffer): Promise<Buffer> {
  const signature = Buffer.from(await signer.sign(tbs));
  const alg = signatureAlgorithm(signer.signatureAlgorithmOid);
  const sig = bitString(signature);
  return Buffer.concat([Buffer.from([0x30]), derLength(tbs.length + alg.length + sig.length), tbs, alg, sig]);
}

/** Build and sign a full or delta CRL from revocation rows. */
export async function buildCrl(input: CrlInput, rows: Iterable<readonly [string, number, number]> | AsyncIterable<readonly [string, number, number]>): Promise<BuiltCrl> {
  const enc = new RevokedEncoder();
  for await (const [serial, seconds, reason] of rows) enc.add(serial, seconds, reason);
  const revoked = enc.result();
  const der = await signCrl(input.signer, tbsCertList(input, revoked));
  return { der, entries: revoked.entries };
}
