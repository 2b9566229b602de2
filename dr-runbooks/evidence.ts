import { createHash } from 'node:crypto';

/** Signs a drill report's digest; the PKI provides one bound to a DR coordinator certificate. */
export interface EvidenceSigner {
  /** Who signs, as shown in the report (the certificate subject). */
  readonly signer: string;
  sign(data: Uint8Array): Promise<EvidenceSignature>;
}

/** A signature as the signer's scheme defines it, kept verbatim in the report for its verifier. */
export interface EvidenceSignature {
  /** Which verifier understands `value` (e.g. "jinbao-pki"). */
  readonly scheme: string;
  readonly value: unknown;
}

/** Checks an evidence signature (and the signer's certificate) against the PKI's trust anchors. */
export interface EvidenceVerifier {
  verify(data: Uint8Array, signature: EvidenceSignature): Promise<{ readonly ok: boolean; readonly signer?: string; readonly problem?: string }>;
}

/** JSON with object keys sorted at every level, so the same report always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
