import type { RevocationReason } from '../store.js';

/**
 * What the CMP server needs of the PKI, as a port: issuance through the profile pipeline (the
 * same staff certificates as `pki issue`), the CA that answers for a site's staff, certificates
 * it issued, revocation and the audit log. The service implements it over the PKI's operations
 * (service/pki-port.ts).
 */
export interface CmpCertificateAuthority {
  /**
   * Issue a staff certificate through the pipeline (audited there). Refusals (weak key, a subject
   * the profile forbids, a proof of possession that does not verify, …) are InputError; nothing is
   * issued then.
   */
  issueStaff(r: {
    readonly profile: string;
    readonly site: string;
    readonly certRequest?: {
      readonly spkiDer: Uint8Array;
      readonly subject: readonly { readonly type: string; readonly value: string }[];
      readonly possession: { readonly signatureAlgorithmOid: string; readonly signed: Uint8Array; readonly signature: Uint8Array };
    };
    readonly csrDer?: Uint8Array;
    readonly identityCode?: string;
    readonly insuranceNumber?: string;
    readonly actor: string;
  }): Promise<{ serial: string; certificateDer: Uint8Array; chainDer: readonly Uint8Array[] }>;
  /** The CA that issues for `site`'s staff: it signs the responses that no shared secret protects. */
  responder(site: string): Promise<CmpResponder>;
  /** A certificate this PKI issued, by serial (lowercase hex). */
  holder(serial: string): Promise<CmpHolder | undefined>;
  /** Revoke (audited); InputError when it is unknown or already revoked. */
  revoke(serial: string, reason: RevocationReason, actor: string): Promise<void>;
  audit(entry: { action: string; outcome: 'ok' | 'refused'; subject?: string; actor?: string; details?: Record<string, unknown> }): Promise<void>;
}

export interface CmpResponder {
  /** The CA certificate's subject Name (DER): the responses' sender. */
  readonly nameDer: Uint8Array;
  /** Its subject key identifier: the responses' senderKID. */
  readonly keyId: Uint8Array;
  /** AlgorithmIdentifier (DER) of its signatures. */
  readonly algorithmDer: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** The CA certificate first, the root last. */
  readonly chainDer: readonly Uint8Array[];
}

export interface CmpHolder {
  readonly serial: string;
  readonly status: 'active' | 'revoked';
  readonly der: Uint8Array;
  readonly site: string;
  readonly profile: string;
  /** RFC 4514-like string form ("C=CN, O=..., serialNumber=S0001, CN=张三"). */
  readonly subject: string;
  /** Staff profiles: the staff number (subject serialNumber); null otherwise. */
  readonly staffNumber: string | null;
  readonly caId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}
