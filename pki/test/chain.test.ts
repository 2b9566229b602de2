import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPkcs12, CA_ALGORITHMS, toPem, type CaAlgorithm } from '../index.js';
import { mustOpenssl, openssl, opensslCsr, opensslKey, testPki, verifyWithOpenssl, type KeyKind, type TestPki } from './helpers.js';

const STAFF_KEY: Record<CaAlgorithm, KeyKind> = { 'ecdsa-p256': 'p256', 'ecdsa-p384': 'p384', 'rsa-3072': 'rsa2048', sm2: 'sm2' };

describe.each(CA_ALGORITHMS)('a %s hierarchy judged by OpenSSL', (algorithm) => {
  let t: TestPki;
  beforeAll(async () => {
    t = await testPki(algorithm);
  });
  afterAll(() => t.cleanup());

  const staffCsr = (name: string, subj = '/CN=张三/serialNumber=S0001') => {
    const key = opensslKey(t.dir, name, STAFF_KEY[algorithm]);
    return { key, csr: opensslCsr(t.dir, key, subj, { sm2: algorithm === 'sm2', name }) };
  };

  it.each([
    ['staff-auth', 'sslclient'],
    ['staff-sign', undefined],
  ] as const)('GIVEN an OpenSSL CSR WHEN a %s certificate is issued THEN openssl verify accepts its chain', async (profile, purpose) => {
    const { csr } = staffCsr(profile);
    const issued = await t.issuer.issue({ profile, site: '440100', csr, identityCode: '11010519491231002X', insuranceNumber: 'A1234567' });
    const v = verifyWithOpenssl(t.dir, algorithm, issued.certificateDer, issued.chainDer, purpose);
    expect(v.output).toContain('OK');
    expect(v.code).toBe(0);
    expect(issued.record.caId).toBe('province-440000-staff');
    const text = mustOpenssl(['x509', '-inform', 'DER', '-in', writeDer(t.dir, 'staff.der', issued.certificateDer), '-noout', '-text', '-nameopt', 'utf8']);
    expect(text).toContain('Subject: C=CN, O=site 440100人力资源和社会保障局, serialNumber=S0001, CN=张三');
    expect(text).toContain('1.2.156.10260.4.1.1');
    expect(text).toContain('11010519491231002X');
    expect(text).toContain(profile === 'staff-auth' ? 'TLS Web Client Authentication' : 'Non Repudiation');
  });

  it.each([
    ['server-tls', ['sslserver']],
    ['replica-mtls', ['sslserver', 'sslclient']],
    ['ocsp-signing', ['ocsphelper']],
    ['evidence-signing', []],
  ] as const)('GIVEN --generate WHEN a %s certificate is issued THEN openssl verify accepts it for %j', async (profile, purposes) => {
    const issued = await t.issuer.issue({ profile, site: '440100', generate: { subject: `CN=${profile}.s440100.jinbao.internal` }, ...(profile === 'ocsp-signing' ? { caId: 'province-440000-staff' } : {}) });
    for (const purpose of purposes.length ? purposes : [undefined]) {
      const v = verifyWithOpenssl(t.dir, algorithm, issued.certificateDer, issued.chainDer, purpose);
      expect(v.output).toContain('OK');
      expect(v.code).toBe(0);
    }
    expect(issued.key).toBeDefined();
  });

  it('GIVEN a generated server key WHEN a PKCS#12 bundle is written THEN openssl pkcs12 -info reads the key and the three certificates with the password, and refuses a wrong one', async () => {
    const issued = await t.issuer.issue({ profile: 'server-tls', site: '440300', generate: { subject: 'CN=app.s440300.jinbao.internal' } });
    const p12 = buildPkcs12({ privateKeyPem: issued.key!.exportPkcs8(), certificates: [issued.certificateDer, ...issued.chainDer], password: 'bundle-passphrase', friendlyName: 'app' });
    const file = writeDer(t.dir, 'bundle.p12', p12);
    const ok = openssl(['pkcs12', '-info', '-in', file, '-passin', 'pass:bundle-passphrase', '-nodes']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    expect(ok.stdout).toContain('BEGIN PRIVATE KEY');
    expect(ok.stderr).toContain('MAC: sha256');
    const bad = openssl(['pkcs12', '-info', '-in', file, '-passin', 'pass:wrong', '-nodes']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Mac verify error');
  });

  it('GIVEN the hierarchy THEN the root is self-signed, signs only issuing CAs (pathlen 0 below it) and each issuing CA verifies against it', async () => {
    const root = (await t.pki.getCa('root'))!;
    const rootText = mustOpenssl(['x509', '-inform', 'DER', '-in', writeDer(t.dir, 'root.der', root.der), '-noout', '-text']);
    expect(rootText).toContain('CA:TRUE, pathlen:1');
    expect(rootText).toContain('Certificate Sign, CRL Sign');
    for (const id of ['ministry-staff', 'infrastructure']) {
      const ca = (await t.pki.getCa(id))!;
      const caFile = join(t.dir, `${id}.pem`);
      writeFileSync(caFile, toPem(ca.der));
      writeFileSync(join(t.dir, 'root.pem'), toPem(root.der));
      const r = openssl(['verify', ...(algorithm === 'sm2' ? ['-vfyopt', 'distid:1234567812345678'] : []), '-CAfile', join(t.dir, 'root.pem'), caFile]);
      expect(r.stdout).toContain(': OK');
      expect(mustOpenssl(['x509', '-in', caFile, '-noout', '-text'])).toContain('CA:TRUE, pathlen:0');
    }
  });
});

function writeDer(dir: string, name: string, der: Uint8Array): string {
  const f = join(dir, name);
  writeFileSync(f, der);
  return f;
}
