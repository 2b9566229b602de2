import { createHash } from 'node:crypto';
import { children, readTlv } from './der.js';

/** The parts of a CA certificate that CRLs and OCSP responses refer to, read once. */
export interface CaInfo {
  /** DER of the subject Name (the CRL's issuer). */
  readonly subject: Buffer;
  /** The subjectPublicKey BIT STRING's bytes (without the unused-bits octet). */
  readonly publicKey: Buffer;
  /** SubjectKeyIdentifier when present, else SHA-1 of the public key (RFC 5280 method 1). */
  readonly keyId: Buffer;
  /** OCSP CertID hashes of issuer name and key, by hash algorithm name (sha1, sha256, ...). */
  readonly certIdHashes: ReadonlyMap<string, { readonly nameHash: Buffer; readonly keyHash: Buffer }>;
}

const SKI_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]);

export function caInfo(certificateDer: Uint8Array): CaInfo {
  const der = Buffer.from(certificateDer);
  let subject: Buffer;
  let publicKey: Buffer;
  let ski: Buffer | undefined;
  try {
    const cert = readTlv(der, 0);
    const tbs = children(der, cert)[0]!;
    const fields = children(der, tbs);
    const off = fields[0]!.tag === 0xa0 ? 1 : 0;
    const subjectTlv = fields[off + 4]!;
    subject = der.subarray(subjectTlv.start, subjectTlv.end);
    const spki = children(der, fields[off + 5]!);
    const bits = spki[1]!;
    publicKey = der.subarray(bits.contentStart + 1, bits.end);
    const extsWrapper = fields.find((f) => f.tag === 0xa3);
    if (extsWrapper) {
      for (const ext of children(der, children(der, extsWrapper)[0]!)) {
        const parts = children(der, ext);
        const id = der.subarray(parts[0]!.start, parts[0]!.end);
        if (id.equals(SKI_OID)) {
          const value = parts[parts.length - 1]!;
          const inner = readTlv(der, value.contentStart, value.end);
          ski = der.subarray(inner.contentStart, inner.end);
        }
      }
    }
  } catch (err) {
    throw new Error(`cannot read the CA certificate: ${(err as Error).message}`, { cause: err });
  }
  const certIdHashes = new Map<string, { nameHash: Buffer; keyHash: Buffer }>();
  for (const alg of ['sha1', 'sha256', 'sha384', 'sha512']) {
    certIdHashes.set(alg, { nameHash: createHash(alg).update(subject).digest(), keyHash: createHash(alg).update(publicKey).digest() });
  }
  return { subject, publicKey, keyId: ski ?? createHash('sha1').update(publicKey).digest(), certIdHashes };
}
