import { inputError } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';

/**
 * Algorithms the CA hierarchy signs with, and the key types it accepts from subscribers.
 * One table so a new algorithm is one row, not a new code path.
 */

export const CA_ALGORITHMS = ['ecdsa-p256', 'ecdsa-p384', 'rsa-3072', 'sm2'] as const;
export type CaAlgorithm = (typeof CA_ALGORITHMS)[number];

/** The distinguishing ID for SM2 signatures (GM/T 0009 default); passed explicitly everywhere. */
export const SM2_DEFAULT_ID = '1234567812345678';

export const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  sm2Curve: '1.2.156.10197.1.301',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  sm2WithSm3: '1.2.156.10197.1.501',
} as const;

export interface CaAlgorithmSpec {
  readonly signatureAlgorithmOid: string;
  /** The hash Node's `crypto.sign` uses; SM2 signs through sm-crypto-v2 instead. */
  readonly hash: 'sha256' | 'sha384' | 'sm3';
  /** RSA signature AlgorithmIdentifiers carry NULL parameters; ECDSA and SM2 carry none. */
  readonly nullParams: boolean;
  readonly key: SubscriberKey;
}

export const CA_ALGORITHM_SPECS: Readonly<Record<CaAlgorithm, CaAlgorithmSpec>> = {
  'ecdsa-p256': { signatureAlgorithmOid: OID.ecdsaSha256, hash: 'sha256', nullParams: false, key: { type: 'ec', curve: 'P-256' } },
  'ecdsa-p384': { signatureAlgorithmOid: OID.ecdsaSha384, hash: 'sha384', nullParams: false, key: { type: 'ec', curve: 'P-384' } },
  'rsa-3072': { signatureAlgorithmOid: OID.sha256WithRsa, hash: 'sha256', nullParams: true, key: { type: 'rsa', bits: 3072 } },
  sm2: { signatureAlgorithmOid: OID.sm2WithSm3, hash: 'sm3', nullParams: false, key: { type: 'sm2' } },
};

/** A subscriber's public key, as the CSR checks and profiles see it. */
export type SubscriberKey = { readonly type: 'rsa'; readonly bits: number } | { readonly type: 'ec'; readonly curve: 'P-256' | 'P-384' } | { readonly type: 'sm2' };

export function describeKey(k: SubscriberKey): string {
  return k.type === 'rsa' ? `RSA-${k.bits}` : k.type === 'ec' ? `EC ${k.curve}` : 'SM2';
}

export function parseCaAlgorithm(value: string): CaAlgorithm {
  if ((CA_ALGORITHMS as readonly string[]).includes(value)) return value as CaAlgorithm;
  throw inputError(PKI_MESSAGES, 'algorithm.unknown', { value, known: CA_ALGORITHMS.join(', ') });
}
