import { createPrivateKey, createPublicKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import type { CaSigner } from './ports.js';
import { inputError } from '../../lib/i18n/index.js';
import { PKI_MESSAGES } from '../messages.js';

const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

/**
 * The delegated OCSP responder's identity from PEM files: a certificate with id-kp-OCSPSigning
 * issued by the CA it answers for (the `ocsp-signing` profile), and its private key.
 */
export function responderFromPem(o: {
  caId: string;
  caCertificateDer: Uint8Array;
  certPem: string;
  keyPem: string;
  keyPassphrase?: string;
  certFile?: string;
  keyFile?: string;
}): CaSigner {
  const certFile = o.certFile ?? 'the responder certificate';
  const keyFile = o.keyFile ?? 'the responder key';
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(o.certPem);
  } catch (err) {
    throw inputError(PKI_MESSAGES, 'responder.notPem', { file: certFile }, { cause: err });
  }
  const ca = new X509Certificate(Buffer.from(o.caCertificateDer));
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw inputError(PKI_MESSAGES, 'responder.issuer', { file: certFile, issuer: cert.issuer.replace(/\n/g, ', '), ca: o.caId, subject: ca.subject.replace(/\n/g, ', ') });
  }
  if (!(cert.keyUsage ?? []).includes(OCSP_SIGNING)) {
    throw inputError(PKI_MESSAGES, 'responder.eku', { file: certFile });
  }
  const now = Date.now();
  if (Date.parse(cert.validTo) < now || Date.parse(cert.validFrom) > now) {
    throw inputError(PKI_MESSAGES, 'responder.validity', { file: certFile, from: cert.validFrom, to: cert.validTo });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(o.keyPassphrase === undefined ? o.keyPem : { key: o.keyPem, passphrase: o.keyPassphrase });
  } catch (err) {
    throw inputError(PKI_MESSAGES, o.keyPassphrase === undefined ? 'responder.keyUnreadable' : 'responder.keyUnreadableWithPassphrase', { file: keyFile, why: (err as Error).message }, { cause: err });
  }
  const pub = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!pub(createPublicKey(key)).equals(pub(cert.publicKey))) {
    throw inputError(PKI_MESSAGES, 'responder.keyMismatch', { file: keyFile, cert: certFile });
  }
  const { oid, hash, algorithm } = signatureFor(key, keyFile);
  return {
    id: `${o.caId}-ocsp`,
    algorithm,
    certificateDer: new Uint8Array(cert.raw),
    signatureAlgorithmOid: oid,
    sign: async (data) => new Uint8Array(sign(hash, data, key)),
  };
}

function signatureFor(key: KeyObject, keyFile: string): { oid: string; hash: string; algorithm: string } {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === 'ec' && curve === 'prime256v1') return { oid: '1.2.840.10045.4.3.2', hash: 'sha256', algorithm: 'ecdsa-p256' };
  if (type === 'ec' && curve === 'secp384r1') return { oid: '1.2.840.10045.4.3.3', hash: 'sha384', algorithm: 'ecdsa-p384' };
  if (type === 'rsa') return { oid: '1.2.840.113549.1.1.11', hash: 'sha256', algorithm: 'rsa' };
  throw inputError(PKI_MESSAGES, 'responder.keyType', { file: keyFile, type: `${type}${curve ? ` ${curve}` : ''}` });
}
