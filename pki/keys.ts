import { createCipheriv, createHmac, createPrivateKey, createPublicKey, generateKeyPair, pbkdf2Sync, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { sm2 } from 'sm-crypto-v2';
import { ExitCode, InputError } from '../lib/errors.js';
import { CA_ALGORITHM_SPECS, SM2_DEFAULT_ID, type CaAlgorithm } from './algorithms.js';
import { inputError, jinbaoError } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';

/**
 * The crypto seam. A `Signer` signs bytes with one private key; a `KeyBackend` creates and opens
 * keys. The software backend keeps keys as encrypted PKCS#8 in the state store; a PKCS#11 token is another
 * backend behind the same two interfaces.
 */
export interface Signer {
  readonly algorithm: CaAlgorithm;
  /** SubjectPublicKeyInfo, DER. */
  readonly spkiDer: Uint8Array;
  readonly signatureAlgorithmOid: string;
  /** Sign `data` (hashing it as the algorithm says); returns the DER signature value. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export interface KeyBackend {
  readonly name: string;
  /** Create a key under `label`; returns the reference to store with the CA record. */
  generate(algorithm: CaAlgorithm, label: string, passphrase: string): Promise<{ ref: string; signer: Signer }>;
  /** Open the key `ref`; a wrong passphrase throws InputError. */
  open(ref: string, algorithm: CaAlgorithm, passphrase: string): Promise<Signer>;
}

/** A private key held in memory, with its signer; used for generated subscriber keys too. */
export interface SoftwareKey {
  readonly signer: Signer;
  /** PKCS#8 PEM; encrypted when a passphrase is given. */
  exportPkcs8(passphrase?: string): string;
}

function keyAlgorithmFor(algorithm: CaAlgorithm): { type: 'ec'; namedCurve: string } | { type: 'rsa'; modulusLength: number } {
  const k = CA_ALGORITHM_SPECS[algorithm].key;
  if (k.type === 'rsa') return { type: 'rsa', modulusLength: k.bits };
  if (k.type === 'ec') return { type: 'ec', namedCurve: k.curve };
  return { type: 'ec', namedCurve: 'SM2' };
}

/** Generate a software key for `algorithm` (RSA-2048 is allowed for subscribers via `rsaBits`). */
export async function generateSoftwareKey(algorithm: CaAlgorithm, opts: { rsaBits?: number } = {}): Promise<SoftwareKey> {
  const a = keyAlgorithmFor(algorithm);
  const privateKey = await new Promise<KeyObject>((resolve, reject) => {
    const cb = (err: Error | null, _pub: KeyObject, priv: KeyObject) => (err ? reject(err) : resolve(priv));
    if (a.type === 'rsa') generateKeyPair('rsa', { modulusLength: opts.rsaBits ?? a.modulusLength }, cb);
    else generateKeyPair('ec', { namedCurve: a.namedCurve }, cb);
  });
  return softwareKey(algorithm, privateKey);
}

/** Wrap a Node private key as a SoftwareKey. */
export function softwareKey(algorithm: CaAlgorithm, privateKey: KeyObject): SoftwareKey {
  const spkiDer = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  const spec = CA_ALGORITHM_SPECS[algorithm];
  let signer: Signer;
  if (algorithm === 'sm2') {
    const { d, pub } = sm2Scalars(privateKey);
    signer = sm2Signer(d, pub, spkiDer);
  } else {
    const hash = spec.hash;
    signer = {
      algorithm,
      spkiDer,
      signatureAlgorithmOid: spec.signatureAlgorithmOid,
      sign: async (data) => new Uint8Array(nodeSign(hash, data, privateKey)),
    };
  }
  return {
    signer,
    exportPkcs8: (passphrase) => (passphrase === undefined ? (privateKey.export({ type: 'pkcs8', format: 'pem' }) as string) : encryptPkcs8(privateKey, passphrase)),
  };
}

/**
 * How software keys are encrypted at rest: PKCS#8 PBES2 with PBKDF2-HMAC-SHA256 at 600,000
 * iterations (OWASP's 2023 setting for PBKDF2-SHA256), a 16-byte salt and AES-256-CBC. Node's own
 * export uses OpenSSL's default of 2,048 iterations, 300 times cheaper to guess. scrypt would be
 * stronger per second spent, but OpenSSL reads scrypt-protected PKCS#8 only up to its 32 MB scrypt
 * memory limit (N = 2^14, r = 8: below today's recommendation of N = 2^17), and the files must stay
 * readable by `openssl pkey` for recovery without jinbao.
 */
export const KEY_PROTECTION = { kdf: 'PBKDF2-HMAC-SHA256', iterations: 600_000, cipher: 'AES-256-CBC' } as const;

const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSha1: '1.2.840.113549.2.7',
  hmacWithSha256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

/** Encrypt a private key as PKCS#8 PEM with KEY_PROTECTION (decrypted by Node, or `openssl pkey -passin`). */
export function encryptPkcs8(privateKey: KeyObject, passphrase: string, iterations: number = KEY_PROTECTION.iterations): string {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(passphrase, salt, iterations, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const plain = privateKey.export({ type: 'pkcs8', format: 'der' });
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  const algorithm = (oid: string, params?: asn1js.AsnType) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), ...(params ? [params] : [])] });
  const pbkdf2Params = new asn1js.Sequence({
    value: [new asn1js.OctetString({ valueHex: salt }), new asn1js.Integer({ value: iterations }), algorithm(OID.hmacWithSha256, new asn1js.Null())],
  });
  const info = new asn1js.Sequence({
    value: [
      algorithm(OID.pbes2, new asn1js.Sequence({ value: [algorithm(OID.pbkdf2, pbkdf2Params), algorithm(OID.aes256Cbc, new asn1js.OctetString({ valueHex: iv }))] })),
      new asn1js.OctetString({ valueHex: encrypted }),
    ],
  });
  const b64 = Buffer.from(info.toBER()).toString('base64');
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ENCRYPTED PRIVATE KEY-----\n`;
}

/** How an encrypted PKCS#8 PEM is protected: the KDF, its cost, and whether that meets KEY_PROTECTION. */
export interface KeyProtection {
  readonly kdf: string;
  readonly iterations?: number;
  readonly current: boolean;
}

export function keyProtection(pem: string): KeyProtection {
  const body = /-----BEGIN ENCRYPTED PRIVATE KEY-----([\s\S]*?)-----END ENCRYPTED PRIVATE KEY-----/.exec(pem)?.[1];
  if (body === undefined) return { kdf: /BEGIN PRIVATE KEY/.test(pem) ? 'none (unencrypted)' : 'unknown', current: false };
  const seq = asn1js.fromBER(Buffer.from(body.replace(/\s+/g, ''), 'base64')).result as asn1js.Sequence;
  const alg = seq.valueBlock.value[0] as asn1js.Sequence;
  const oid = (alg.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString();
  if (oid !== OID.pbes2) return { kdf: `PBES1 or other (${oid})`, current: false };
  const kdf = (alg.valueBlock.value[1] as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
  const kdfOid = (kdf.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString();
  if (kdfOid !== OID.pbkdf2) return { kdf: kdfOid === '1.3.6.1.4.1.11591.4.11' ? 'scrypt' : kdfOid, current: false };
  const params = (kdf.valueBlock.value[1] as asn1js.Sequence).valueBlock.value;
  const iterations = (params[1] as asn1js.Integer).valueBlock.valueDec;
  const prf = params.find((p, i) => i >= 2 && p instanceof asn1js.Sequence) as asn1js.Sequence | undefined;
  const prfOid = prf ? (prf.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString() : OID.hmacWithSha1;
  const name = prfOid === OID.hmacWithSha256 ? 'PBKDF2-HMAC-SHA256' : prfOid === OID.hmacWithSha1 ? 'PBKDF2-HMAC-SHA1' : `PBKDF2 (${prfOid})`;
  return { kdf: name, iterations, current: name === KEY_PROTECTION.kdf && iterations >= KEY_PROTECTION.iterations };
}

/**
 * SM2 signing through sm-crypto-v2 (Node's own SM2 signatures do not verify in OpenSSL), SM3 with
 * the Z value computed from the explicit distinguishing ID.
 */
export function sm2Signer(dHex: string, publicKeyHex: string, spkiDer: Uint8Array, userId = SM2_DEFAULT_ID): Signer {
  return {
    algorithm: 'sm2',
    spkiDer,
    signatureAlgorithmOid: CA_ALGORITHM_SPECS.sm2.signatureAlgorithmOid,
    sign: async (data) => Buffer.from(sm2.doSignature(data, dHex, { der: true, hash: true, publicKey: publicKeyHex, userId }), 'hex'),
  };
}

/** The private scalar and uncompressed public point of an SM2 key, as hex. */
function sm2Scalars(privateKey: KeyObject): { d: string; pub: string } {
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const pki = asn1js.fromBER(der).result as asn1js.Sequence;
  const inner = (pki.valueBlock.value[2] as asn1js.OctetString).valueBlock.valueHexView;
  const ec = asn1js.fromBER(inner).result as asn1js.Sequence;
  const d = Buffer.from((ec.valueBlock.value[1] as asn1js.OctetString).valueBlock.valueHexView).toString('hex').padStart(64, '0');
  return { d, pub: sm2.getPublicKeyFromPrivateKey(d) };
}

/** Decrypt an encrypted PKCS#8 PEM; a wrong passphrase is the user's to fix. */
export function decryptPkcs8(pem: string, passphrase: string, where: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (err) {
    const msg = (err as Error).message;
    if (/bad decrypt|passphrase|decrypt/i.test(msg)) {
      throw inputError(PKI_MESSAGES, 'keys.wrongPassphrase', { where }, { cause: err });
    }
    throw jinbaoError(PKI_MESSAGES, 'keys.unreadable', { where, msg }, { exitCode: ExitCode.invalidInput, cause: err });
  }
}

/** Where the software backend keeps its encrypted PEMs: the state store's pki_keys table (`PkiStore`). */
export interface KeyBlobs {
  /** Where the blobs are, for messages ("SQLite /var/lib/jinbao/jinbao.db"). */
  readonly where: string;
  keyPem(ref: string): Promise<string | undefined>;
  /** false when `ref` exists already (nothing changed). */
  insertKey(ref: string, pem: string): Promise<boolean>;
  /** Replace the PEM only while it still is `previous`. */
  replaceKey(ref: string, previous: string, pem: string): Promise<void>;
}

/**
 * Software keys as encrypted PKCS#8 PEM (KEY_PROTECTION) in the state store, so every machine that
 * uses a shared store can sign with the passphrase, and a copy of the database alone cannot.
 *
 * A key written by an older jinbao (PBKDF2 at 2,048 iterations) is re-encrypted with the current
 * protection the next time it is unlocked: the passphrase is only ever in hand at that moment, so no
 * separate command could do it without asking for it again. The row is replaced only if it still
 * holds the old PEM, so two processes upgrading at once leave one of their (equivalent) results.
 */
export class SoftwareKeyBackend implements KeyBackend {
  readonly name = 'software';
  constructor(readonly blobs: KeyBlobs) {}

  async generate(algorithm: CaAlgorithm, label: string, passphrase: string): Promise<{ ref: string; signer: Signer }> {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(label)) throw inputError(PKI_MESSAGES, 'keys.label', { label });
    const ref = `${label}.key.pem`;
    if ((await this.blobs.keyPem(ref)) !== undefined) throw jinbaoError(PKI_MESSAGES, 'keys.existsHalfway', { ref, where: this.blobs.where }, { exitCode: ExitCode.invalidInput });
    const key = await generateSoftwareKey(algorithm);
    if (!(await this.blobs.insertKey(ref, key.exportPkcs8(passphrase)))) throw jinbaoError(PKI_MESSAGES, 'keys.existsRace', { ref, where: this.blobs.where }, { exitCode: ExitCode.invalidInput });
    return { ref, signer: key.signer };
  }

  async open(ref: string, algorithm: CaAlgorithm, passphrase: string): Promise<Signer> {
    const pem = await this.blobs.keyPem(ref);
    if (pem === undefined) throw jinbaoError(PKI_MESSAGES, 'keys.missing', { ref, where: this.blobs.where }, { exitCode: ExitCode.invalidInput });
    const cacheKey = unlockedKey(ref, pem, passphrase);
    let privateKey = unlocked.get(cacheKey);
    if (privateKey === undefined) {
      privateKey = decryptPkcs8(pem, passphrase, `the CA key "${ref}" in ${this.blobs.where}`);
      if (!keyProtection(pem).current) await this.blobs.replaceKey(ref, pem, encryptPkcs8(privateKey, passphrase));
      else unlocked.set(cacheKey, privateKey);
    }
    return softwareKey(algorithm, privateKey).signer;
  }
}

/**
 * Keys this process already unlocked. With 600,000 PBKDF2 iterations an unlock costs about half a
 * second, and one command (`jinbao up`) opens the same few CA keys dozens of times. An entry is
 * found only with the same stored PEM and the same passphrase (compared through an HMAC under a
 * key that never leaves the process), so a wrong passphrase is still refused.
 */
const unlocked = new Map<string, KeyObject>();
const processSecret = randomBytes(32);

/** Drop every key this process unlocked (a service being sealed again keeps none). */
export function forgetUnlockedKeys(): void {
  unlocked.clear();
}
function unlockedKey(ref: string, pem: string, passphrase: string): string {
  return createHmac('sha256', processSecret).update(ref).update('\0').update(pem).update('\0').update(passphrase).digest('hex');
}
