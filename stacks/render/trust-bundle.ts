import { inputError } from '../../lib/i18n/index.js';
import { STACKS_MESSAGES } from '../messages.js';
import type { ConfigMap, Labels } from './kube-object.js';

export const TRUST_BUNDLE_NAME = 'jinbao-trust-bundle';
export const TRUST_BUNDLE_KEY = 'ca-bundle.pem';

const CERT_BLOCK = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;

/**
 * Check the CA certificates the PKI hands over. Terraform and Pulumi state are not secret stores,
 * so anything that is not exactly one public certificate per entry is refused.
 */
export function checkTrustBundle(pems: readonly string[]): void {
  pems.forEach((pem, i) => {
    if (/PRIVATE KEY/.test(pem)) {
      throw inputError(STACKS_MESSAGES, 'trustBundle.entryPrivateKey', { i });
    }
    if (!CERT_BLOCK.test(pem.trim() + '\n')) {
      throw inputError(STACKS_MESSAGES, 'trustBundle.entryNotOne', { i });
    }
  });
}

/** The CA certificates workloads trust; an annotated empty placeholder until the PKI fills it. */
export function trustBundle(namespace: string, labels: Labels, pems: readonly string[]): ConfigMap {
  const placeholder = pems.length === 0;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: TRUST_BUNDLE_NAME,
      namespace,
      labels,
      annotations: { 'jinbao.io/trust-bundle': placeholder ? 'placeholder: filled by the PKI with public CA certificates' : `${pems.length} CA certificate(s)` },
    },
    data: { [TRUST_BUNDLE_KEY]: pems.map((p) => p.trim() + '\n').join('') },
  };
}

/** Split a PEM file into its certificate blocks, refusing private keys (for `--trust-bundle FILE`). */
export function splitPemBundle(text: string, source: string): string[] {
  if (/PRIVATE KEY/.test(text)) throw inputError(STACKS_MESSAGES, 'trustBundle.privateKey', { source });
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw inputError(STACKS_MESSAGES, 'trustBundle.noCertificate', { source });
  return blocks;
}
