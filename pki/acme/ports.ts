import type { RevocationReason } from '../store.js';

/**
 * What the ACME server needs of the PKI, as a port: issuance through the profile pipeline,
 * revocation, a certificate's status, and the audit log. The service implements it over the PKI's
 * operations (service/pki-port.ts); tests can implement it in memory.
 */
export interface AcmeCertificateAuthority {
  /**
   * Issue a server-tls certificate for `site` from a CSR through the pipeline (audited there).
   * Refusals (weak key, a name the profile forbids, …) are InputError; nothing is issued then.
   */
  issueFromCsr(r: {
    readonly csrDer: Uint8Array;
    readonly site: string;
    readonly application: string | null;
    readonly commonName: string;
    readonly validityDays: number;
    readonly actor: string;
  }): Promise<{ serial: string; certificateDer: Uint8Array; chainDer: readonly Uint8Array[]; notBefore: Date; notAfter: Date }>;
  /** A certificate this PKI issued, by serial (lowercase hex); undefined when unknown. */
  certificate(serial: string): Promise<{ readonly serial: string; readonly status: 'active' | 'revoked'; readonly der: Uint8Array; readonly notBefore: Date; readonly notAfter: Date } | undefined>;
  /**
   * A server-tls certificate of `site` recorded at or after `since` whose public key hashes
   * (SHA-256 of the SubjectPublicKeyInfo, hex) to `spkiSha256`: what a finalize that died left.
   */
  issuedForKey(r: { readonly site: string; readonly since: Date; readonly spkiSha256: string }): Promise<{ serial: string; certificateDer: Uint8Array; chainDer: readonly Uint8Array[]; notBefore: Date; notAfter: Date } | undefined>;
  /** Revoke (audited); InputError when it is unknown or already revoked. */
  revoke(serial: string, reason: RevocationReason, actor: string): Promise<void>;
  /** Append to the audit log. */
  audit(entry: { action: string; outcome: 'ok' | 'refused'; subject?: string; actor?: string; details?: Record<string, unknown> }): Promise<void>;
}
