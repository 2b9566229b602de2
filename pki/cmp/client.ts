import { createHash, randomBytes } from 'node:crypto';
import { request, type Agent } from 'node:https';
import { integer, octets, oid, seq, set, tlv, explicit, bitString, generalizedTime } from '../der.js';
import type { Signer } from '../keys.js';
import { NAME_ATTRIBUTES } from '../x509.js';
import { BODY, BODY_NAMES, CMP_OID, parseCertRep, parsePkiMessage, pbmMac, type PkiMessage } from './message.js';

/**
 * A minimal CMP client for benchmarks and tests: `ir` with a reference and secret (PBM, 500
 * iterations of SHA-256 and HMAC-SHA1, as `openssl cmp` 3.0 sends by default) and the certConf that
 * follows. Staff use `openssl cmp` or their enrollment station; this is not a product.
 */

export interface CmpClientOptions {
  /** https://host:port/cmp/<site> */
  readonly url: string;
  readonly caPem: string;
  readonly agent?: Agent;
}

function utf8Name(subject: readonly { type: keyof typeof NAME_ATTRIBUTES; value: string }[]): Buffer {
  return seq(...subject.map((a) => set(seq(oid(NAME_ATTRIBUTES[a.type]), tlv(a.type === 'serialNumber' || a.type === 'C' ? 0x13 : 0x0c, Buffer.from(a.value, 'utf8'))))));
}

export class CmpClient {
  constructor(private readonly o: CmpClientOptions) {}

  /** POST one PKIMessage; the decoded answer. */
  async send(der: Uint8Array): Promise<PkiMessage> {
    const url = new URL(this.o.url);
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', ca: this.o.caPem, ...(this.o.agent ? { agent: this.o.agent } : {}), headers: { 'content-type': 'application/pkixcmp', 'content-length': der.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`CMP: HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`))));
        },
      );
      req.on('error', reject);
      req.end(der);
    });
    return parsePkiMessage(body);
  }

  private pbm(reference: string, secret: string, subjectName: Buffer, transactionId: Buffer, body: Buffer, recipNonce?: Uint8Array): Buffer {
    const salt = randomBytes(16);
    const params = { salt, owf: CMP_OID.sha256, iterations: 500, mac: CMP_OID.hmacSha1 };
    const header = seq(
      integer(2),
      explicit(4, subjectName),
      explicit(4, seq()),
      explicit(0, generalizedTime(new Date())),
      explicit(1, seq(oid(CMP_OID.passwordBasedMac), seq(octets(salt), seq(oid(params.owf)), integer(500), seq(oid(params.mac))))),
      explicit(2, octets(Buffer.from(reference))),
      explicit(4, octets(transactionId)),
      explicit(5, octets(randomBytes(16))),
      ...(recipNonce ? [explicit(6, octets(recipNonce))] : []),
    );
    const mac = pbmMac(Buffer.from(secret), params, seq(header, body));
    return seq(header, body, explicit(0, bitString(mac)));
  }

  /** ir → ip, then certConf → pkiConf; the certificate (DER). Throws with the server's text on an error message. */
  async enroll(r: { reference: string; secret: string; key: Signer; subject: readonly { type: keyof typeof NAME_ATTRIBUTES; value: string }[]; transactionId?: Uint8Array }): Promise<Uint8Array> {
    const name = utf8Name(r.subject);
    const certRequest = seq(integer(0), seq(explicit(5, name), tlv(0xa6, contentOf(r.key.spkiDer))));
    const signature = await r.key.sign(certRequest);
    const pop = tlv(0xa1, [seq(oid(r.key.signatureAlgorithmOid)), bitString(signature)]);
    const transactionId = Buffer.from(r.transactionId ?? randomBytes(16));
    const ip = await this.send(this.pbm(r.reference, r.secret, name, transactionId, tlv(0xa0 + BODY.ir, seq(seq(certRequest, pop)))));
    const cert = certificateOf(ip);
    const certConf = seq(seq(octets(createHash('sha256').update(cert).digest()), integer(0)));
    const conf = await this.send(this.pbm(r.reference, r.secret, name, transactionId, tlv(0xa0 + BODY.certConf, certConf), ip.header.senderNonce));
    if (conf.bodyType !== BODY.pkiconf) throw new Error(`certConf: got ${BODY_NAMES[conf.bodyType]}`);
    return cert;
  }
}

function contentOf(der: Uint8Array): Uint8Array {
  const lenByte = der[1]!;
  return der.subarray(lenByte & 0x80 ? 2 + (lenByte & 0x7f) : 2);
}

/** The certificate of an ip, or the server's refusal as an Error. */
function certificateOf(m: PkiMessage): Uint8Array {
  const r = parseCertRep(m);
  if (m.bodyType === BODY.error || !r.certificate) throw new Error(`CMP ${BODY_NAMES[m.bodyType]}: ${r.failures.join(', ')}: ${r.text}`);
  return r.certificate;
}
