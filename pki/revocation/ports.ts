import { REVOCATION_REASONS, type CaStatus, type RevocationReason } from '../store.js';

/**
 * What revocation needs from the rest of the PKI, as ports. The certificate store (pki/store.ts,
 * `PkiStore`) is the one source of truth for who is revoked; this folder turns that into CRLs and
 * OCSP answers. Tests implement the ports with throwaway CAs and an in-memory registry.
 */

/** A CA that can sign: its certificate and a signing function (software key, PKCS#11, SM2...). */
export interface CaSigner {
  readonly id: string;
  readonly algorithm: string;
  readonly certificateDer: Uint8Array;
  /** The signatureAlgorithm OID its signatures carry (e.g. 1.2.840.10045.4.3.2 ecdsa-with-SHA256). */
  readonly signatureAlgorithmOid: string;
  /** DER signature over `data` (ECDSA / SM2 as DER SEQUENCE { r, s }, RSA as the raw block). */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** RFC 5280 CRLReason names and codes: the certificate store's own list (removeFromCRL, 8, is a CRL mechanism, not a reason). */
export const REASON_CODES = REVOCATION_REASONS;
export type ReasonName = RevocationReason;

/** A certificate as revocation sees it. Serials are lowercase hex (the store's canonical form). */
export interface CertificateStatusRecord {
  readonly serial: string;
  readonly caId: string;
  readonly status: 'active' | 'revoked';
  readonly revokedAt: Date | null;
  readonly revocationReason: ReasonName | null;
}

/** A CA certificate as revocation sees it: `parentId` is the CA that signed it (null for the root). */
export interface CaCertificateStatusRecord {
  readonly id: string;
  readonly serial: string;
  readonly parentId: string | null;
  readonly status: CaStatus;
  readonly revokedAt: Date | null;
  readonly revocationReason: ReasonName | null;
}

export interface RevokedEntry {
  readonly serial: string;
  readonly revokedAt: Date;
  readonly reason: ReasonName;
  readonly revocationSeq: number;
}

/** The certificate store, as far as revocation uses it (a structural subset of `PkiStore`). */
export interface RevocationRegistry {
  findCertificate(serial: string): Promise<CertificateStatusRecord | undefined>;
  /** Revoke, audited; refuses unknown serials and repeated revocations with InputError (also audited). */
  markRevoked(serial: string, reason: ReasonName, opts?: { at?: Date; actor?: string }): Promise<CertificateStatusRecord>;
  /**
   * A CA certificate by serial, with the CA that signed it (`parentId`): a revoked CA's status comes
   * from its parent's responder. Registries that hold no CA certificates leave it out.
   */
  findCaBySerial?(serial: string): Promise<CaCertificateStatusRecord | undefined>;
  /** A CA by id: once it is revoked, everything it issued is answered "revoked" too. Registries that hold no CAs leave it out. */
  getCa?(id: string): Promise<CaCertificateStatusRecord | undefined>;
  /**
   * Revoked certificates of a CA (end-entity and CA certificates it signed), sorted, streamed; with
   * afterSeq only those revoked later; with partition only the end-entity certificates of that CRL
   * partition; with expiredBefore none whose certificate expired at or before it.
   */
  revokedEntries(caId: string, opts?: { afterSeq?: number; partition?: number; expiredBefore?: Date }): Iterable<RevokedEntry> | AsyncIterable<RevokedEntry>;
  /** Grows by one with every revocation, in any process. */
  revocationSeq(): Promise<number>;
}
