/**
 * Revocation: full and delta CRLs cut straight from the certificate store's index, and an RFC 6960
 * OCSP responder with a cache that revocations in any process invalidate.
 */
export { caInfo, type CaInfo } from './ca-info.js';
export { buildCrl, encodeRevoked, signCrl, tbsCertList, type BuiltCrl, type CrlInput } from './crl.js';
export { CRL_MIGRATIONS, CrlLedger, type CrlSlot, type KeptCrl, type PublishedCrl } from './crl-ledger.js';
export { pem } from './der.js';
export {
  MAX_CERT_IDS,
  MalformedOcspRequest,
  OCSP_STATUS,
  matchAuthority,
  ocspAuthority,
  parseOcspRequest,
  signedResponse,
  statusOnlyResponse,
  type CertStatus,
  type OcspAuthority,
  type OcspResponseStatus,
  type ParsedOcspRequest,
} from './ocsp.js';
export { REASON_CODES, type CaCertificateStatusRecord, type CaSigner, type CertificateStatusRecord, type ReasonName, type RevocationRegistry, type RevokedEntry } from './ports.js';
export { responderFromPem } from './responder-identity.js';
export { cutCrl, publishCrl, type CutCrlOptions, type PublishCrlOptions, type PublishedCrlFile } from './publish.js';
export { MAX_REQUEST_BYTES, OcspResponder, serveOcsp, type OcspResponderProps, type OcspResponderStats, type RunningResponder } from './responder.js';
