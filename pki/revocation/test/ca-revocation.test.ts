import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/testkit.js';
import { tempDir } from '../../../testkit/index.js';
import { loadFabric } from '../../../fabric/index.js';
import { openDatabase } from '../../../lib/sql/index.js';
import { OcspResponder, ocspAuthority, responderFromPem, serveOcsp } from '../index.js';
import { caBundlePem, evidenceSigner, initHierarchy, Issuer, PkiStore, replicaTlsMaterial, toPem, verifyEvidence, type Issued } from '../../index.js';
import { opensslCsr, opensslKey, testPki, type TestPki } from '../../test/helpers.js';
import { hasOpenssl, openssl, opensslAsync, startResponderProcess } from './openssl.js';

const PASS = 'correct horse battery staple';
const ENV = { JINBAO_PKI_PASSPHRASE: PASS };
const BOTH_OR_NEITHER = 'want exactly one (--serial for a certificate, --ca for an issuing CA)';

/**
 * One real hierarchy: staff certificates of Guangdong (province-440000-staff) and Beijing
 * (province-110000-staff), and the root's delegated OCSP responder. The tests run in order: the
 * refusals, the revocation of Guangdong's staff CA, then what OpenSSL makes of the CRLs and OCSP.
 */
describe('jinbao pki revoke --ca: an issuing CA revoked, as OpenSSL sees it', () => {
  let dir: string;
  let cleanup: () => void;
  let out: string;
  const files: Record<string, string> = {};
  const certs: Record<string, Issued> = {};
  const serials: Record<string, string> = {};
  const cli = (...args: string[]) => runCli(['--state', dir, 'pki', ...args], ENV);
  const crl = (name: string) => join(out, `${name}.crl.pem`);

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('jinbao-ca-revocation-'));
    out = join(dir, 'crl');
    const state = await openDatabase(dir);
    try {
      const pki = await PkiStore.open(state, dir);
      await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS });
      const issuer = new Issuer(pki, loadFabric(), PASS);
      const csr = opensslCsr(dir, opensslKey(dir, 'staff', 'p256'), '/CN=张三/serialNumber=S0001');
      certs.guangzhou = await issuer.issue({ profile: 'staff-auth', site: '440100', csr });
      certs.beijing = await issuer.issue({ profile: 'staff-auth', site: '110000', csr });
      certs.ocsp = await issuer.issue({ profile: 'ocsp-signing', site: '000000', caId: 'root', generate: { subject: 'CN=OCSP root' } });
      certs.guangdongOcsp = await issuer.issue({ profile: 'ocsp-signing', site: '000000', caId: 'province-440000-staff', generate: { subject: 'CN=OCSP province-440000-staff' } });
      const write = (name: string, der: Uint8Array) => writeFileSync((files[name] = join(dir, `${name}.pem`)), toPem(der));
      for (const [name, c] of Object.entries(certs)) write(name, c.certificateDer);
      writeFileSync((files['ocsp.key'] = join(dir, 'ocsp.key.pem')), certs.ocsp!.key!.exportPkcs8());
      writeFileSync((files['guangdongOcsp.key'] = join(dir, 'guangdong-ocsp.key.pem')), certs.guangdongOcsp!.key!.exportPkcs8());
      write('root', (await pki.getCa('root'))!.der);
      write('guangdong', (await pki.getCa('province-440000-staff'))!.der);
      write('beijing-ca', (await pki.getCa('province-110000-staff'))!.der);
      for (const ca of await pki.listCas()) serials[ca.id] = ca.serial;
    } finally {
      await state.close();
    }
  });
  afterAll(() => cleanup());

  it('GIVEN both --serial and --ca, or neither THEN revoke refuses before touching the store', async () => {
    const both = await cli('revoke', '--serial', certs.guangzhou!.record.serial, '--ca', 'province-440000-staff', '--reason', 'cACompromise');
    expect(both.code).toBe(2);
    expect(both.stderr).toBe(`jinbao: pki revoke: got both --serial and --ca, ${BOTH_OR_NEITHER}\n`);
    const neither = await cli('revoke', '--reason', 'cACompromise');
    expect(neither.code).toBe(2);
    expect(neither.stderr).toBe(`jinbao: pki revoke: got neither --serial nor --ca, ${BOTH_OR_NEITHER}\n`);
  });

  it('GIVEN the root THEN revoke --ca refuses and says to build a new hierarchy instead', async () => {
    const r = await cli('revoke', '--ca', 'root', '--reason', 'cACompromise');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `jinbao: CA root: got the root CA, want an issuing CA; nothing above the root can publish its revocation. If the root key is compromised, create a new hierarchy in a new state directory (jinbao --state <new dir> pki init), re-issue every certificate under it and remove this root (serial ${serials.root}) from every trust store\n`,
    );
  });

  it('GIVEN an unknown CA id or an unknown reason THEN revoke --ca refuses with what there is', async () => {
    const unknown = await cli('revoke', '--ca', 'province-999999-staff', '--reason', 'cACompromise');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('jinbao: unknown CA: got "province-999999-staff", want one of root, infrastructure, ministry-staff, province-440000-staff, province-110000-staff\n');
    const reason = await cli('revoke', '--ca', 'province-440000-staff', '--reason', 'stolen');
    expect(reason.code).toBe(2);
    expect(reason.stderr).toBe('jinbao: revocation reason: got "stolen", want one of unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise\n');
  });

  it("GIVEN the root's full CRL WHEN Guangdong's staff CA is revoked THEN the command says what follows and what to publish", async () => {
    expect((await cli('crl', '--ca', 'root', '--out', out)).stdout).toContain('full CRL 1 of root: 0 revoked');
    // Kept aside: the next full CRL overwrites the file, and this one is the base of the next delta.
    writeFileSync(join(dir, 'root-1.crl.pem'), readFileSync(crl('root')));
    const r = await cli('revoke', '--ca', 'province-440000-staff', '--reason', 'cACompromise');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^revoked CA province-440000-staff \\(serial ${serials['province-440000-staff']}, signed by root, cACompromise, \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); it issues nothing more\n` +
          "the 2 unrevoked certificate\\(s\\) it issued fail every chain check that consults root's CRL or OCSP\n" +
          "root's OCSP responder answers \"revoked\" for it now; publish it in a CRL with: jinbao pki crl --ca root\n" +
          'then create its successor, which issues in its place: jinbao pki replace-ca --ca province-440000-staff\n$',
      ),
    );
  });

  it('GIVEN the CA revoked THEN a second revocation is refused with when and why', async () => {
    const r = await cli('revoke', '--ca', 'province-440000-staff', '--reason', 'superseded');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^jinbao: CA province-440000-staff is already revoked \(since \d{4}-[\d-]+T[\d:.]+Z, reason cACompromise\); nothing changed\n$/);
  });

  it('GIVEN the CA revoked THEN it issues nothing more, for any site of its province', async () => {
    const state = await openDatabase(dir);
    try {
      const csr = opensslCsr(dir, opensslKey(dir, 'late', 'p256'), '/CN=李四/serialNumber=S0002', { name: 'late' });
      await expect(new Issuer(await PkiStore.open(state, dir), loadFabric(), PASS).issue({ profile: 'staff-auth', site: '440300', csr })).rejects.toThrow(
        /^issuing CA province-440000-staff: got a revoked CA \(since .*, cACompromise\), want an active one; it issues nothing more; create its successor with: jinbao pki replace-ca --ca province-440000-staff$/,
      );
    } finally {
      await state.close();
    }
  });

  it.skipIf(!hasOpenssl)("GIVEN the root's CRLs cut after the revocation THEN both list the CA certificate with its reason", async () => {
    const delta = await cli('crl', '--ca', 'root', '--delta', '--out', out);
    expect(delta.stdout).toContain('delta CRL 2 over full CRL 1 of root: 1 revoked');
    const full = JSON.parse((await cli('crl', '--ca', 'root', '--out', out, '--json')).stdout) as { number: number; entries: number };
    expect(full).toMatchObject({ number: 3, entries: 1 });
    for (const ca of ['province-440000-staff', 'province-110000-staff']) expect((await cli('crl', '--ca', ca, '--out', out)).code).toBe(0);
    const serial = serials['province-440000-staff']!.toUpperCase();
    for (const file of [crl('root'), crl('root-delta')]) {
      const text = openssl(['crl', '-in', file, '-noout', '-text']).out;
      expect(text).toContain(`Serial Number: ${serial}`);
      expect(text).toContain('CA Compromise');
    }
  });

  it.skipIf(!hasOpenssl)('GIVEN the CRLs THEN openssl verify -crl_check_all refuses a staff certificate under the revoked CA and accepts one under another province', () => {
    const verify = (leaf: string, issuing: string, issuingCrl: string, rootCrl = crl('root'), extra: string[] = []) =>
      openssl(['verify', '-crl_check_all', ...extra, '-CAfile', files.root!, '-untrusted', issuing, '-CRLfile', rootCrl, '-CRLfile', issuingCrl, leaf]);
    const refused = verify(files.guangzhou!, files.guangdong!, crl('province-440000-staff'));
    expect(refused.status).not.toBe(0);
    expect(refused.out).toContain('error 23 at 1 depth lookup: certificate revoked');
    expect(verify(files.beijing!, files['beijing-ca']!, crl('province-110000-staff'))).toMatchObject({ status: 0 });
    // The full CRL cut before the revocation lists nothing; the delta over it carries the revocation.
    const before = join(dir, 'root-1.crl.pem');
    expect(verify(files.guangzhou!, files.guangdong!, crl('province-440000-staff'), before)).toMatchObject({ status: 0 });
    const withDelta = verify(files.guangzhou!, files.guangdong!, crl('province-440000-staff'), before, ['-use_deltas', '-CRLfile', crl('root-delta')]);
    expect(withDelta.status).not.toBe(0);
    expect(withDelta.out).toContain('error 23 at 1 depth lookup: certificate revoked');
  });

  it.skipIf(!hasOpenssl)("GIVEN the root's responder (pki ocsp serve --ca root) THEN openssl ocsp reports the revoked CA's certificate revoked and the other good", async () => {
    const responder = await startResponderProcess(dir, ['--ca', 'root', '--responder-cert', files.ocsp!, '--responder-key', files['ocsp.key']!], ENV);
    const url = responder.url;
    try {
      const ask = (cert: string) => opensslAsync(['ocsp', '-issuer', files.root!, '-cert', cert, '-url', url, '-CAfile', files.root!]);
      const revoked = await ask(files.guangdong!);
      expect(revoked.out).toContain('Response verify OK');
      expect(revoked.out).toContain(`${files.guangdong}: revoked`);
      expect(revoked.out).toContain('Reason: cACompromise');
      const good = await ask(files['beijing-ca']!);
      expect(good.out).toContain('Response verify OK');
      expect(good.out).toContain(`${files['beijing-ca']}: good`);
    } finally {
      expect(await responder.stop()).toBe(0);
    }
  });
  it.skipIf(!hasOpenssl)("GIVEN the revoked CA's own responder THEN openssl ocsp hears \"revoked\" with the CA's reason for a certificate it issued", async () => {
    const state = await openDatabase(dir);
    const pki = await PkiStore.open(state, dir);
    const ca = (await pki.getCa('province-440000-staff'))!;
    const signer = responderFromPem({
      caId: ca.id,
      caCertificateDer: ca.der,
      certPem: readFileSync(files.guangdongOcsp!, 'utf8'),
      keyPem: readFileSync(files['guangdongOcsp.key']!, 'utf8'),
      certFile: files.guangdongOcsp!,
      keyFile: files['guangdongOcsp.key']!,
    });
    const running = await serveOcsp(new OcspResponder({ authorities: [ocspAuthority(ca.id, ca.der, signer)], registry: pki }), { port: 0 });
    try {
      const r = await opensslAsync(['ocsp', '-issuer', files.guangdong!, '-cert', files.guangzhou!, '-url', running.url, '-CAfile', files.root!, '-verify_other', files.guangdong!]);
      expect(r.out).toContain('Response verify OK');
      expect(r.out).toContain(`${files.guangzhou}: revoked`);
      expect(r.out).toContain('Reason: cACompromise');
      const at = ca.revokedAt!.toISOString(); // openssl prints "Nov 27 02:57:12 2026 GMT"
      expect(r.out).toContain(`Revocation Time: ${new Date(at).toUTCString().slice(8, 11)} ${String(new Date(at).getUTCDate()).padStart(2)} ${at.slice(11, 19)} ${at.slice(0, 4)} GMT`);
    } finally {
      await running.close();
      await state.close();
    }
  });
});

describe('what jinbao itself verifies refuses a chain through a revoked infrastructure CA', () => {
  let t: TestPki;
  beforeAll(async () => {
    t = await testPki();
  });
  afterAll(() => t.cleanup());

  it('GIVEN evidence signed before the revocation WHEN infrastructure is revoked (pki revoke --ca --json) THEN verification names the CA, the CA bundle and new replica TLS are refused', async () => {
    const signer = await evidenceSigner(t.pki, t.fabric, { site: '000000', commonName: 'drill 440100', passphrase: PASS });
    const signature = await signer.sign('drill report');
    const trust = { rootPem: toPem((await t.pki.getCa('root'))!.der), pki: t.pki };
    expect(await verifyEvidence('drill report', signature, trust)).toMatchObject({ ok: true });

    const r = await runCli(['--state', join(t.dir, 'state'), 'pki', 'revoke', '--ca', 'infrastructure', '--reason', 'cACompromise', '--json'], ENV);
    expect(r.stderr).toBe('');
    const revoked = JSON.parse(r.stdout) as { revokedAt: string };
    expect(revoked).toEqual({
      ca: 'infrastructure',
      serial: (await t.pki.getCa('infrastructure'))!.serial,
      parent: 'root',
      reason: 'cACompromise',
      revokedAt: revoked.revokedAt,
      revocationSeq: 1,
      unrevokedCertificatesUnder: 1,
    });

    expect(await verifyEvidence('drill report', signature, trust)).toEqual({
      ok: false,
      reason: `revocation: got a chain through CA infrastructure, revoked at ${revoked.revokedAt} (cACompromise), want an unrevoked chain`,
      signer: { subject: 'CN, 人力资源和社会保障部, drill 440100', serial: signer.serial },
    });
    await expect(caBundlePem(t.pki)).rejects.toThrow(
      `CA bundle for replica TLS: got a chain through CA infrastructure, revoked since ${revoked.revokedAt} (cACompromise), want an unrevoked chain; infrastructure issues nothing more, so replicas need its successor: jinbao pki replace-ca --ca infrastructure, then new replica certificates (jinbao up)`,
    );
    await expect(replicaTlsMaterial(t.pki, t.fabric, { site: '440100', commonName: 'pg.440100.jinbao.internal', passphrase: PASS })).rejects.toThrow(
      `issuing CA infrastructure: got a revoked CA (since ${revoked.revokedAt}, cACompromise), want an active one; it issues nothing more`,
    );
  });
});
