/**
 * Just enough DER to write certificates, CRLs and OCSP responses by hand, and to walk the few
 * structures the CA reads (requests, certificates). Values are built as small buffers joined once;
 * object trees (pkijs) cost most of an issuance, and seconds and gigabytes for a million-entry CRL.
 */

export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV from a tag and its content (one buffer or several, concatenated). */
export function tlv(tag: number, content: Uint8Array | readonly Uint8Array[]): Buffer {
  const parts = content instanceof Uint8Array ? [content] : content;
  let len = 0;
  for (const p of parts) len += p.length;
  // One allocation: tag, length (short form, or 0x8n and n big-endian bytes), contents.
  const lengthBytes = len < 0x80 ? 0 : len < 0x100 ? 1 : len < 0x10000 ? 2 : len < 0x1000000 ? 3 : 4;
  if (len >= 2 ** 32) throw new RangeError(`DER content of ${len} bytes is beyond what jinbao writes`);
  const out = Buffer.allocUnsafe(2 + lengthBytes + len);
  out[0] = tag;
  if (lengthBytes === 0) out[1] = len;
  else {
    out[1] = 0x80 | lengthBytes;
    for (let i = lengthBytes, v = len; i >= 1; i--, v = Math.floor(v / 256)) out[1 + i] = v & 0xff;
  }
  let at = 2 + lengthBytes;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const seq = (...items: Uint8Array[]): Buffer => tlv(0x30, items);
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, items);
export const octets = (b: Uint8Array): Buffer => tlv(0x04, b);
export const explicit = (n: number, inner: Uint8Array): Buffer => tlv(0xa0 + n, inner);
export const NULL = Buffer.from([0x05, 0x00]);
export const TRUE = Buffer.from([0x01, 0x01, 0xff]);

export function bitString(b: Uint8Array): Buffer {
  return tlv(0x03, [Buffer.from([0]), b]);
}

export function enumerated(n: number): Buffer {
  return tlv(0x0a, Buffer.from([n]));
}

const OIDS = new Map<string, Buffer>();

/** An OBJECT IDENTIFIER (encoded once per process; callers must not modify the buffer). */
export function oid(dotted: string): Buffer {
  let b = OIDS.get(dotted);
  if (!b) OIDS.set(dotted, (b = encodeOid(dotted)));
  return b;
}

function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  if (arcs.length < 2) throw new Error(`not an object identifier: ${dotted}`);
  const out: number[] = [];
  const push = (v: bigint) => {
    const chunk: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Buffer.from(out));
}

/** A non-negative INTEGER from lowercase hex (a certificate serial) or a safe integer. */
export function integer(value: string | number | bigint): Buffer {
  return tlv(0x02, integerContent(value));
}

export function integerContent(value: string | number | bigint): Buffer {
  let hex = typeof value === 'string' ? value : value.toString(16);
  hex = hex.replace(/^0+/, '');
  if (hex === '') hex = '0';
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const b = Buffer.from(hex, 'hex');
  return b[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050. */
export function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  return y < 2050 ? utcTime(d) : generalizedTime(d);
}

export function utcTime(d: Date): Buffer {
  const s = `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'latin1'));
}

export function generalizedTime(d: Date): Buffer {
  const s = `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return tlv(0x18, Buffer.from(s, 'latin1'));
}

/** An AlgorithmIdentifier for a signature OID; RSA PKCS#1 v1.5 OIDs carry an explicit NULL. */
export function signatureAlgorithm(dotted: string): Buffer {
  return dotted.startsWith('1.2.840.113549.1.1.') && dotted !== '1.2.840.113549.1.1.10' ? seq(oid(dotted), NULL) : seq(oid(dotted));
}

/** Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING } */
export function extension(dotted: string, value: Uint8Array, critical = false): Buffer {
  return critical ? seq(oid(dotted), TRUE, octets(value)) : seq(oid(dotted), octets(value));
}

/** One decoded TLV of a DER buffer: where its content starts and ends. */
export interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** Read the TLV at `pos`; throws on truncation or indefinite / oversized lengths. */
export function readTlv(buf: Uint8Array, pos: number, limit = buf.length): Tlv {
  if (pos + 2 > limit) throw new Error('truncated DER');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte tags are not supported');
  let len = buf[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    if (p + n > limit) throw new Error('truncated DER');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new Error('truncated DER');
  return { tag, start: pos, contentStart: p, end: p + len };
}

/** The children of a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.contentStart; p < parent.end; ) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** The dotted form of an OBJECT IDENTIFIER's content. */
export function oidString(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x06) throw new Error(`want an OBJECT IDENTIFIER, got tag 0x${t.tag.toString(16)}`);
  if (t.end === t.contentStart) throw new Error('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let v = 0;
  for (let p = t.contentStart; p < t.end; p++) {
    const b = buf[p]!;
    if (v > 0x1fffffffffff) throw new Error('OBJECT IDENTIFIER arc too large');
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    } else if (p === t.end - 1) throw new Error('truncated OBJECT IDENTIFIER');
  }
  return arcs.join('.');
}

/** A character string's text: UTF8String, PrintableString, IA5String, TeletexString, VisibleString, BMPString, UniversalString; undefined for other types. */
export function stringValue(buf: Uint8Array, t: Tlv): string | undefined {
  const b = Buffer.from(buf.buffer, buf.byteOffset + t.contentStart, t.end - t.contentStart);
  switch (t.tag) {
    case 0x0c:
      return b.toString('utf8');
    case 0x12:
    case 0x13:
    case 0x14:
    case 0x16:
    case 0x1a:
      return b.toString('latin1');
    case 0x1e: {
      const c = Buffer.from(b);
      return c.length % 2 === 0 ? c.swap16().toString('utf16le') : undefined;
    }
    case 0x1c: {
      if (b.length % 4 !== 0) return undefined;
      let s = '';
      for (let i = 0; i < b.length; i += 4) {
        const cp = b.readUInt32BE(i);
        s += String.fromCodePoint(cp > 0x10ffff ? 0xfffd : cp);
      }
      return s;
    }
    default:
      return undefined;
  }
}

/** The bytes of a TLV's content (a view, not a copy). */
export function content(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.contentStart, t.end);
}

/** PEM armour with 64-column lines. */
export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
