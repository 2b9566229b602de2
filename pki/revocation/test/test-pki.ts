import { KeyObject, randomBytes, sign, webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { PkiStore } from '../../index.js';
import { openDatabase, type Database } from '../../../lib/sql/index.js';
import type { CaSigner } from '../ports.js';

/**
 * Throwaway PKIs for tests: an ECDSA P-256 CA made with @peculiar/x509 (independent of the
 * hierarchy code), leaf and delegated OCSP-signing certificates, all recorded in a real PkiStore.
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TestCa {
  readonly id: string;
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly signer: CaSigner;
  readonly pemFile: string;
}

export interface TestCert {
  readonly serial: string;
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly pemFile: string;
  readonly der: Uint8Array;
}

/** Positive, 64+ bits, lowercase hex in the store's canonical form (no leading zero byte). */
export function randomSerial(): string {
  const b = randomBytes(12);
  b[0] = (b[0]! & 0x7f) | 0x10;
  return b.toString('hex');
}

function signerFor(id: string, cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair): CaSigner {
  const key = KeyObject.from(keys.privateKey);
  return {
    id,
    algorithm: 'ecdsa-p256',
    certificateDer: new Uint8Array(cert.rawData),
    signatureAlgorithmOid: '1.2.840.10045.4.3.2',
    sign: async (data) => new Uint8Array(sign('sha256', data, key)),
  };
}

export async function makeCa(dir: string, id: string, store?: PkiStore): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=Test ${id} CA, O=Jinbao Test, C=CN`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pemFile = join(dir, `${id}.ca.pem`);
  writeFileSync(pemFile, cert.toString('pem') + '\n');
  if (store) await store.db.write((tx) => store.insertCa(tx, {
    id,
    parentId: null,
    role: 'root',
    purpose: 'root',
    site: null,
    algorithm: 'ecdsa-p256',
    subject: cert.subject,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    der: new Uint8Array(cert.rawData),
    keyBackend: 'test',
    keyRef: id,
    createdAt: new Date(now),
  }));
  return { id, cert, keys, signer: signerFor(id, cert, keys), pemFile };
}

export async function issue(dir: string, ca: TestCa, opts: { cn: string; ocspSigning?: boolean; store?: PkiStore }): Promise<TestCert> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serial = randomSerial();
  const now = Date.now();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (opts.ocspSigning) {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning]));
    // id-pkix-ocsp-nocheck: clients do not check the responder certificate's own revocation
    extensions.push(new x509.Extension('1.3.6.1.5.5.7.48.1.5', false, new Uint8Array([0x05, 0x00])));
  } else {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${opts.cn}, O=Jinbao Test, C=CN`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 30 * DAY),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions,
  });
  const pemFile = join(dir, `${opts.cn}.pem`);
  writeFileSync(pemFile, cert.toString('pem') + '\n');
  const der = new Uint8Array(cert.rawData);
  const store = opts.store;
  if (store) await store.db.write((tx) => store.insertCertificate(tx, {
    serial,
    caId: ca.id,
    profile: opts.ocspSigning ? 'ocsp-signing' : 'staff-auth',
    profileVersion: 1,
    site: '000000',
    subject: cert.subject,
    commonName: opts.cn,
    staffNumber: null,
    application: null,
    sans: [],
    keyType: 'EC P-256',
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    der,
    issuedAt: new Date(now),
  }));
  return { serial, cert, keys, pemFile, der };
}

/** A delegated responder's signer: the OCSP-signing certificate and its key. */
export function responderSigner(ca: TestCa, responder: TestCert): CaSigner {
  return signerFor(`${ca.id}-ocsp`, responder.cert, responder.keys);
}

/** The PKI store in a state directory, or in the PostgreSQL database `target` names. */
export async function openPki(dir: string, target?: string): Promise<{ state: Database; pki: PkiStore }> {
  const state = await openDatabase(target ?? dir);
  return { state, pki: await PkiStore.open(state, dir) };
}
