import { createPrivateKey, createPublicKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { InputError } from '../../lib/errors.js';
import type { CaSigner } from './ports.js';

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
    throw new InputError(`${certFile}: got something that is not a PEM certificate, want the certificate written by: jinbao pki issue --profile ocsp-signing`, { cause: err });
  }
  const ca = new X509Certificate(Buffer.from(o.caCertificateDer));
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new InputError(`${certFile}: got a certificate issued by "${cert.issuer.replace(/\n/g, ', ')}", want one issued by CA "${o.caId}" (${ca.subject.replace(/\n/g, ', ')})`);
  }
  if (!(cert.keyUsage ?? []).includes(OCSP_SIGNING)) {
    throw new InputError(`${certFile}: got a certificate without the OCSP-signing extended key usage (id-kp-OCSPSigning), want one from the ocsp-signing profile`);
  }
  const now = Date.now();
  if (Date.parse(cert.validTo) < now || Date.parse(cert.validFrom) > now) {
    throw new InputError(`${certFile}: got a certificate valid from ${cert.validFrom} to ${cert.validTo}, want one valid now; issue a new one with the ocsp-signing profile`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(o.keyPassphrase === undefined ? o.keyPem : { key: o.keyPem, passphrase: o.keyPassphrase });
  } catch (err) {
    throw new InputError(`${keyFile}: cannot read the private key (${(err as Error).message}); want a PEM private key${o.keyPassphrase === undefined ? ' (if it is encrypted, pass --key-passphrase-env)' : ' and the passphrase it was encrypted with'}`, { cause: err });
  }
  const pub = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!pub(createPublicKey(key)).equals(pub(cert.publicKey))) {
    throw new InputError(`${keyFile}: got a key that does not belong to ${certFile}, want the key generated with that certificate`);
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
  throw new InputError(`${keyFile}: got a ${type}${curve ? ` ${curve}` : ''} key, want ECDSA P-256, P-384 or RSA (SM2 responder keys are not supported by the responder yet)`);
}
