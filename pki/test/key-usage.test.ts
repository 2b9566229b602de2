import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../lib/errors.js';
import type { CaAlgorithm } from '../index.js';
import { mustOpenssl, opensslCsr, opensslKey, testPki, type TestPki } from './helpers.js';

/**
 * Key usages follow the subscriber's key: RFC 5480 section 3 (and RFC 8813) forbid keyEncipherment
 * and dataEncipherment for id-ecPublicKey; TLS with an EC key signs (ECDHE), so digitalSignature is
 * all it needs. SM2 certificates are GM/T 0015 signature certificates (digitalSignature). RSA keys
 * keep keyEncipherment for RSA key transport. OpenSSL is the oracle; expectations are literal.
 */

const KEY_USAGE_LINE: Record<CaAlgorithm, string> = {
  'ecdsa-p256': 'Digital Signature',
  'ecdsa-p384': 'Digital Signature',
  sm2: 'Digital Signature',
  'rsa-3072': 'Digital Signature, Key Encipherment',
};

function keyUsageLine(dir: string, name: string, der: Uint8Array): string {
  const file = join(dir, `${name}.der`);
  writeFileSync(file, der);
  const lines = mustOpenssl(['x509', '-inform', 'DER', '-in', file, '-noout', '-text']).split('\n');
  const at = lines.findIndex((l) => l.trim() === 'X509v3 Key Usage: critical');
  expect(at).toBeGreaterThan(-1);
  return lines[at + 1]!.trim();
}

describe('key usages per key algorithm', () => {
  let t: TestPki;
  beforeAll(async () => {
    t = await testPki('ecdsa-p256');
  });
  afterAll(() => t.cleanup());

  for (const profile of ['server-tls', 'replica-mtls'] as const) {
    it.each(Object.keys(KEY_USAGE_LINE) as CaAlgorithm[])(`GIVEN a generated %s key WHEN ${profile} is issued THEN openssl shows the usages its algorithm allows`, async (algorithm) => {
      const issued = await t.issuer.issue({ profile, site: '440100', generate: { subject: `CN=${algorithm}.s440100.jinbao.internal`, algorithm } });
      expect(keyUsageLine(t.dir, `${profile}-${algorithm}`, issued.certificateDer)).toBe(KEY_USAGE_LINE[algorithm]);
      expect(issued.record.profileVersion).toBe(2);
    });
  }

  it('GIVEN an EC CSR asking for keyEncipherment THEN it is refused with the usages an EC key may have', async () => {
    const csr = opensslCsr(t.dir, opensslKey(t.dir, 'ec-ke', 'p256'), '/CN=ke.s440100.jinbao.internal', { name: 'ec-ke', addext: ['keyUsage=digitalSignature,keyEncipherment'] });
    const err = await t.issuer.issue({ profile: 'server-tls', site: '440100', csr }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe('forbidden key usage: got keyEncipherment, want only digitalSignature for an EC key (profile server-tls v2)');
  });

  it('GIVEN an RSA CSR asking for keyEncipherment THEN it is issued with it', async () => {
    const csr = opensslCsr(t.dir, opensslKey(t.dir, 'rsa-ke', 'rsa2048'), '/CN=rsa.s440100.jinbao.internal', { name: 'rsa-ke', addext: ['keyUsage=digitalSignature,keyEncipherment'] });
    const issued = await t.issuer.issue({ profile: 'server-tls', site: '440100', csr });
    expect(keyUsageLine(t.dir, 'rsa-csr', issued.certificateDer)).toBe('Digital Signature, Key Encipherment');
  });
});
