import forge from 'node-forge';
import { createPrivateKey } from 'node:crypto';
import { MIN_PASSPHRASE_LENGTH } from './passphrase.js';
import { inputError } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';

/**
 * PKCS#12 bundles (what browsers and USB-key tools import), built with node-forge's ASN.1 and
 * PBE primitives. node-forge's own `toPkcs12Asn1` handles RSA keys only; assembling the bags here
 * makes EC and SM2 keys work the same way: the key as a PBES2 (PBKDF2-SHA256, AES-256-CBC)
 * shrouded PKCS#8 bag, the certificates as cert bags, and a SHA-256 HMAC over the contents.
 */

const { asn1, pki } = forge;
const U = asn1.Class.UNIVERSAL;
const CTX = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

const oid = (o: string) => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
const octets = (bytes: string) => asn1.create(U, T.OCTETSTRING, false, bytes);
const seq = (v: forge.asn1.Asn1[]) => asn1.create(U, T.SEQUENCE, true, v);
const explicit0 = (v: forge.asn1.Asn1[]) => asn1.create(CTX, 0, true, v);
const bin = (u: Uint8Array) => forge.util.binary.raw.encode(u);

function dataContentInfo(safeContents: forge.asn1.Asn1): forge.asn1.Asn1 {
  return seq([oid(pki.oids.data!), explicit0([octets(asn1.toDer(safeContents).getBytes())])]);
}

export interface P12Input {
  /** Unencrypted PKCS#8 PEM (or an encrypted one with `keyPassphrase`). */
  readonly privateKeyPem: string;
  readonly keyPassphrase?: string;
  /** The end-entity certificate first, then its chain (DER). */
  readonly certificates: readonly Uint8Array[];
  readonly password: string;
  readonly friendlyName?: string;
  /** PBKDF2 and MAC iterations. @default 10000 */
  readonly iterations?: number;
}

/**
 * The shortest PKCS#12 password accepted: the same as for CA passphrases. A bundle travels (mail,
 * USB sticks) and its key can be attacked offline, so it gets no weaker protection than the CA keys.
 */
export const MIN_PKCS12_PASSWORD_LENGTH = MIN_PASSPHRASE_LENGTH;

/** Refuse a PKCS#12 password shorter than MIN_PKCS12_PASSWORD_LENGTH characters. */
export function checkPkcs12Password(password: string): void {
  const n = [...password].length;
  if (n < MIN_PKCS12_PASSWORD_LENGTH) {
    throw inputError(PKI_MESSAGES, 'p12.passwordShort', { n, min: MIN_PKCS12_PASSWORD_LENGTH });
  }
}

/** Build a PKCS#12 bundle; the password must have at least MIN_PKCS12_PASSWORD_LENGTH characters. */
export function buildPkcs12(input: P12Input): Uint8Array {
  checkPkcs12Password(input.password);
  const iterations = input.iterations ?? 10_000;
  const keyDer = createPrivateKey(input.keyPassphrase === undefined ? { key: input.privateKeyPem } : { key: input.privateKeyPem, passphrase: input.keyPassphrase }).export({ type: 'pkcs8', format: 'der' });
  const localKeyId = forge.md.sha1.create().update(bin(input.certificates[0]!)).digest().getBytes();
  const attrs = (withName: boolean) =>
    asn1.create(U, T.SET, true, [
      seq([oid(pki.oids.localKeyId!), asn1.create(U, T.SET, true, [octets(localKeyId)])]),
      ...(withName && input.friendlyName ? [seq([oid(pki.oids.friendlyName!), asn1.create(U, T.SET, true, [asn1.create(U, T.BMPSTRING, false, input.friendlyName)])])] : []),
    ]);

  const certBags = input.certificates.map((der, i) =>
    seq([
      oid(pki.oids.certBag!),
      explicit0([seq([oid(pki.oids.x509Certificate!), explicit0([octets(bin(der))])])]),
      ...(i === 0 ? [attrs(true)] : []),
    ]),
  );
  const keyInfo = asn1.fromDer(forge.util.createBuffer(bin(keyDer)));
  const shrouded = pki.encryptPrivateKeyInfo(keyInfo, input.password, { algorithm: 'aes256', count: iterations, prfAlgorithm: 'sha256' } as forge.pki.EncryptionOptions);
  const keyBag = seq([oid(pki.oids.pkcs8ShroudedKeyBag!), explicit0([shrouded]), attrs(true)]);

  const authSafe = seq([dataContentInfo(seq(certBags)), dataContentInfo(seq([keyBag]))]);
  const authSafeBytes = asn1.toDer(authSafe).getBytes();

  const salt = forge.random.getBytesSync(16);
  const md = forge.md.sha256.create();
  const macKey = forge.pkcs12.generateKey(input.password, forge.util.createBuffer(salt), 3, iterations, 32, md);
  const hmac = forge.hmac.create();
  hmac.start(forge.md.sha256.create(), macKey.getBytes());
  hmac.update(authSafeBytes);
  const macData = seq([
    seq([seq([oid(pki.oids.sha256!), asn1.create(U, T.NULL, false, '')]), octets(hmac.digest().getBytes())]),
    octets(salt),
    asn1.create(U, T.INTEGER, false, asn1.integerToDer(iterations).getBytes()),
  ]);
  const pfx = seq([asn1.create(U, T.INTEGER, false, asn1.integerToDer(3).getBytes()), dataContentInfo(authSafe), macData]);
  return new Uint8Array(Buffer.from(asn1.toDer(pfx).getBytes(), 'binary'));
}
