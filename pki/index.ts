/**
 * The PKI: CA hierarchy, profiles, the issuance pipeline, the certificate store and SM2.
 *
 * Ports for revocation (pki/revocation/) and other features:
 * Every store access is async (lib/sql: SQLite or PostgreSQL).
 * - `PkiStore.open(db, stateDir)` opens the PKI tables; `findCertificate(serial)` gives the issuer CA id
 *   (`caId`), `status`, `revokedAt`, `revocationReason`; `markRevoked(serial, reason)` revokes in one
 *   transaction with its audit entry (unknown serial and "already revoked" are InputError, exit 2,
 *   refusal audited); `revokedEntries(caId, {afterSeq})` streams a CA's revoked serials in ascending
 *   order from an index (afterSeq: only those revoked after that point, for delta CRLs);
 *   `revocationSeq()` grows with every revocation in any process (cheap cache check for OCSP).
 *   `markCaRevoked(id, reason)` revokes an issuing CA into the same sequence (its parent's
 *   `revokedEntries` then list its certificate); `findCaBySerial` and `revokedCaInChain(caId)` let
 *   verifiers refuse chains through a revoked CA. `replaceCa(pki, id, passphrase)` creates the
 *   successor of a revoked issuing CA (`successorOf(id)`); `rolloverCa(pki, id, passphrase)` gives
 *   an active one a successor and makes it `retiring` (it signs CRLs and OCSP until its last
 *   certificate expires, then `retireFinishedCas` makes it `retired`); `currentCa(id)` follows a
 *   fixed id (ministry-staff, infrastructure, province-<id>-staff) to the CA that issues for it now.
 * - `openCaSigner(pki, caId, passphrase)` gives a `CaSigner` for a CA; `resolvePassphrase(...)`
 *   finds the passphrase (--passphrase-env variable, demo file, TTY prompt).
 * - `chainOf(pki, caId)` the CA's chain (issuing first, root last).
 */
export { CA_ALGORITHMS, CA_ALGORITHM_SPECS, OID, SM2_DEFAULT_ID, describeKey, parseCaAlgorithm, type CaAlgorithm, type SubscriberKey } from './algorithms.js';
export { forgetUnlockedKeys, generateSoftwareKey, SoftwareKeyBackend, type KeyBackend, type KeyBlobs, type Signer, type SoftwareKey } from './keys.js';
export {
  CA_STATUSES,
  CRL_EXPIRED_ENTRIES,
  CRL_PARTITION_SIZE_RANGE,
  DEFAULT_CRL_PARTITION_SIZE,
  PKI_MIGRATIONS,
  PkiStore,
  caKeyInUse,
  REVOCATION_REASONS,
  UniqueSerialError,
  normalizeSerial,
  parseRevocationReason,
  type CaPurpose,
  type CaRecord,
  type CaRole,
  type CaStatus,
  type CertificateQuery,
  type CertificateRecord,
  type CrlExpiredEntries,
  type CrlPartitionCount,
  type CrlSettings,
  type IssuedEntry,
  type IssueRejection,
  type RevocationReason,
  type RevokedEntry,
} from './store.js';
export {
  INFRASTRUCTURE_CA_ID,
  MINISTRY_STAFF_CA_ID,
  ROOT_CA_ID,
  chainOf,
  defaultKeyBackend,
  ensureProvinceStaffCa,
  initHierarchy,
  openCaSigner,
  provinceStaffCaId,
  replaceCa,
  requireRootCa,
  rolloverCa,
  staffCaIdFor,
  successorIdentity,
  type CaSigner,
  type ReplacedCa,
  type RolledOverCa,
  type HierarchyOptions,
  type KeyBackends,
} from './ca.js';
export { DEFAULT_PASSPHRASE_ENV, DEMO_PASSPHRASE_WARNING, demoPassphrase, ensureDemoPassphrase, resolvePassphrase, type PassphraseRequest, type PassphraseSource } from './passphrase.js';
export { EXT, EXTENDED_KEY_USAGES, certificateKeyId, certificateParts, formatName, fromPem, nameFromPkijs, parseSubject, signatureAlgorithmDer, subjectText, toPem, type DistinguishedName } from './x509.js';
export { DEFAULT_DISTRIBUTION, PROFILES, PROFILE_NAMES, keyUsageFor, normalizeDistributionBase, urlsFor, crlUrlsFor, organizationOf, profileByName, type KeyUsageByKey, type Profile, type ProfileName } from './profiles.js';
export { Issuer, validIdentityCode, type IssueRequest, type Issued, type IssuerOptions } from './pipeline.js';
export { parseCsr, verifyCsrSignature, type ParsedCsr } from './csr.js';
export { buildPkcs12, checkPkcs12Password, MIN_PKCS12_PASSWORD_LENGTH, type P12Input } from './p12.js';
export { fileDelivery, type Delivery, type FileDeliveryOptions, type StagedDelivery } from './deliver.js';
export { staffCertificateHolders, rosterCertificateHolders, certificateSummaries, mlps3Applications, pkiProvenance, type CertificateSummary, type Mlps3Applications, type RosterJoin } from './facts.js';
export { registerPkiMetrics } from './metrics.js';
export {
  replicaTlsMaterial,
  caBundlePem,
  evidenceSigner,
  verifyEvidence,
  type ReplicaTlsRequest,
  type ReplicaTlsMaterial,
  type EvidenceSignature,
  type EvidenceSigner,
  type EvidenceVerification,
} from './replica.js';
export { Pkcs11KeyBackend, closePkcs11Sessions } from './pkcs11.js';
