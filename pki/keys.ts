import { createPrivateKey, createPublicKey, generateKeyPair, sign as nodeSign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import { sm2 } from 'sm-crypto-v2';
import { InputError, JinbaoError } from '../lib/errors.js';
import { CA_ALGORITHM_SPECS, SM2_DEFAULT_ID, type CaAlgorithm } from './algorithms.js';

/**
 * The crypto seam. A `Signer` signs bytes with one private key; a `KeyBackend` creates and opens
 * keys. The software backend keeps keys as encrypted PKCS#8 files; a PKCS#11 token is another
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
    exportPkcs8: (passphrase) =>
      privateKey.export(passphrase === undefined ? { type: 'pkcs8', format: 'pem' } : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string,
  };
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
      throw new InputError(`wrong passphrase for ${where}: got a passphrase that does not decrypt it, want the one given when the key was created (check the variable named by --passphrase-env)`, { cause: err });
    }
    throw new JinbaoError(`cannot read the private key ${where}: ${msg}; restore it from backup`, { cause: err });
  }
}

/** Keys as encrypted PKCS#8 PEM files (AES-256-CBC, scrypt-free PBES2 from OpenSSL) in one directory, mode 0600. */
export class SoftwareKeyBackend implements KeyBackend {
  readonly name = 'software';
  constructor(readonly dir: string) {}

  async generate(algorithm: CaAlgorithm, label: string, passphrase: string): Promise<{ ref: string; signer: Signer }> {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(label)) throw new InputError(`key label: got "${label}", want lowercase letters, digits and "-"`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ref = `${label}.key.pem`;
    const file = join(this.dir, ref);
    if (existsSync(file)) throw new JinbaoError(`a key already exists at ${file}; refusing to overwrite it (move it aside if it is stale)`);
    const key = await generateSoftwareKey(algorithm);
    writeFileSync(file, key.exportPkcs8(passphrase), { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return { ref, signer: key.signer };
  }

  async open(ref: string, algorithm: CaAlgorithm, passphrase: string): Promise<Signer> {
    const file = join(this.dir, ref);
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw new JinbaoError(`the CA key ${file} is missing or unreadable: ${(err as Error).message}; restore the state directory's pki/keys from backup`, { cause: err });
    }
    return softwareKey(algorithm, decryptPkcs8(pem, passphrase, `the CA key ${file}`)).signer;
  }
}
