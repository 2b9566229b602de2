import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/testkit.js';
import { tempDir } from '../../../testkit/index.js';
import { loadFabric } from '../../../fabric/index.js';
import { openDatabase } from '../../../lib/sql/index.js';
import {
  caBundlePem,
  evidenceSigner,
  initHierarchy,
  Issuer,
  PkiStore,
  registerPkiMetrics,
  replaceCa,
  replicaTlsMaterial,
  staffCertificateHolders,
  toPem,
  verifyEvidence,
  type Issued,
} from '../../index.js';
import { PKI_MIGRATIONS } from '../../store.js';
import { lastAudit, opensslCsr, opensslKey, testPki, type TestPki } from '../../test/helpers.js';
import { hasOpenssl, openssl } from './openssl.js';

const PASS = 'correct horse battery staple';
const ENV = { JINBAO_PKI_PASSPHRASE: PASS };
const ISO = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';

/** openssl verify with full CRL checking: the root trusted, the issuing CAs untrusted, every CRL given. */
function verify(rootPem: string, untrusted: string, crls: readonly string[], leaf: string) {
  return openssl(['verify', '-crl_check_all', '-CAfile', rootPem, '-untrusted', untrusted, ...crls.flatMap((c) => ['-CRLfile', c]), leaf]);
}

/**
 * Guangdong's staff CA compromised: revoked, the root's CRL cut, replaced, and a Guangdong staff
 * member certified again, all through the CLI, with OpenSSL judging the chains. The tests run in
 * order: refusals on the active CA, the revocation, the replacement, then issuance and OpenSSL.
 */
describe('jinbao pki replace-ca: a successor for a revoked province staff CA, as OpenSSL sees it', () => {
  let dir: string;
  let cleanup: () => void;
  let out: string;
  let before: Issued;
  const files: Record<string, string> = {};
  const serials: Record<string, string> = {};
  const cli = (...args: string[]) => runCli(['--state', dir, 'pki', ...args], ENV);
  const crl = (name: string) => join(out, `${name}.crl.pem`);

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('jinbao-replace-ca-'));
    out = join(dir, 'crl');
    const state = await openDatabase(dir);
    try {
      const pki = await PkiStore.open(state, dir);
      await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS });
      const csr = opensslCsr(dir, opensslKey(dir, 'staff', 'p256'), '/CN=张三/serialNumber=S0001');
      before = await new Issuer(pki, loadFabric(), PASS).issue({ profile: 'staff-auth', site: '440100', csr });
      writeFileSync((files.before = join(dir, 'before.pem')), toPem(before.certificateDer));
      writeFileSync((files.root = join(dir, 'root.pem')), toPem((await pki.getCa('root'))!.der));
      writeFileSync((files.old = join(dir, 'old-ca.pem')), toPem((await pki.getCa('province-440000-staff'))!.der));
      for (const ca of await pki.listCas()) serials[ca.id] = ca.serial;
    } finally {
      await state.close();
    }
  });
  afterAll(() => cleanup());

  it('GIVEN an unknown id or the root THEN replace-ca refuses, says what there is and changes nothing', async () => {
    const unknown = await cli('replace-ca', '--ca', 'province-999999-staff');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('jinbao: unknown CA: got "province-999999-staff", want one of root, infrastructure, ministry-staff, province-440000-staff\n');
    const root = await cli('replace-ca', '--ca', 'root');
    expect(root.code).toBe(2);
    expect(root.stderr).toBe(
      'jinbao: CA root: got the root CA, want a revoked issuing CA; nothing above the root can sign its successor. If the root key is compromised, create a new hierarchy in a new state directory (jinbao --state <new dir> pki init) and re-issue every certificate under it\n',
    );
  });

  it('GIVEN the staff CA still active THEN replace-ca refuses: revoke it first, or roll it over', async () => {
    const r = await cli('replace-ca', '--ca', 'province-440000-staff');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'jinbao: CA province-440000-staff: got an active CA, want a revoked one; replace-ca recovers from a compromised issuing CA. Revoke it first (jinbao pki revoke --ca province-440000-staff --reason cACompromise), or, for a planned change that keeps its certificates valid, roll it over: jinbao pki rollover-ca --ca province-440000-staff\n',
    );
    const cas = JSON.parse((await cli('cas', '--json')).stdout) as { cas: { id: string }[] };
    expect(cas.cas.map((c) => c.id)).toEqual(['root', 'infrastructure', 'ministry-staff', 'province-440000-staff']);
  });

  it('GIVEN the CA revoked and the root CRL cut WHEN replace-ca runs THEN it names the successor, what it issues and what to do next', async () => {
    expect((await cli('revoke', '--ca', 'province-440000-staff', '--reason', 'cACompromise')).code).toBe(0);
    expect((await cli('crl', '--ca', 'root', '--out', out)).stdout).toContain('full CRL 1 of root: 1 revoked');
    const r = await cli('replace-ca', '--ca', 'province-440000-staff');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^replaced revoked CA province-440000-staff by province-440000-staff-2 \\(serial [0-9a-f]{32}, signed by root, ecdsa-p256, key in software, valid until ${ISO}\\)\n` +
          'province-440000-staff-2 issues from now on what province-440000-staff did: staff certificates of site 440000 and its prefectures\n' +
          're-issue the 1 unrevoked certificate\\(s\\) of province-440000-staff \\(jinbao pki list --ca province-440000-staff --status active\\); their chains fail\n' +
          'publish: jinbao pki crl --ca root \\(if not done since the revocation\\) and jinbao pki crl --ca province-440000-staff-2\n$',
      ),
    );
    const cas = (JSON.parse((await cli('cas', '--json')).stdout) as { cas: { id: string; status: string; replaces: string | null; subject: string; purpose: string; site: string; serial: string }[] }).cas;
    const old = cas.find((c) => c.id === 'province-440000-staff')!;
    const successor = cas.find((c) => c.id === 'province-440000-staff-2')!;
    expect(old).toMatchObject({ status: 'revoked', replaces: null, serial: serials['province-440000-staff'] });
    expect(successor).toMatchObject({ status: 'active', replaces: 'province-440000-staff', purpose: 'staff', site: '440000' });
    expect(successor.serial).not.toBe(old.serial);
    expect(successor.subject).toBe(`${old.subject} G2`);
    expect((await cli('cas')).stdout).toMatch(/province-440000-staff .*revoked, replaced by province-440000-staff-2\n/);
    const state = await openDatabase(dir);
    try {
      const audit = (await lastAudit(state));
      expect(audit).toMatchObject({ action: 'pki.ca.replace', outcome: 'ok' });
      expect(JSON.parse(audit.details)).toMatchObject({ replaced: 'province-440000-staff', replacedSerial: old.serial, successor: 'province-440000-staff-2', serial: successor.serial, parentId: 'root' });
    } finally {
      await state.close();
    }
  });

  it('GIVEN the CA replaced THEN a second replace-ca is refused and names the successor; the audit log keeps the refusal', async () => {
    const r = await cli('replace-ca', '--ca', 'province-440000-staff', '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`^jinbao: CA province-440000-staff is already replaced by province-440000-staff-2 \\(created ${ISO}, status active\\); nothing changed\\. province-440000-staff-2 issues in its place\n$`),
    );
    const active = await cli('replace-ca', '--ca', 'province-440000-staff-2');
    expect(active.stderr).toContain('jinbao: CA province-440000-staff-2: got an active CA, want a revoked one;');
    const state = await openDatabase(dir);
    try {
      expect((await lastAudit(state))).toMatchObject({ action: 'pki.ca.replace', outcome: 'refused' });
    } finally {
      await state.close();
    }
  });

  it('GIVEN the successor WHEN pki issue certifies a Guangdong staff member THEN the successor signs it and list --ca finds what to re-issue', async () => {
    opensslCsr(dir, opensslKey(dir, 'again', 'p256'), '/CN=张三/serialNumber=S0001', { name: 'again' });
    const r = await cli('issue', '--profile', 'staff-auth', '--site', '440300', '--csr', join(dir, 'again.csr'), '--out', join(dir, 'after'), '--json');
    expect(r.stderr).toBe('');
    const issued = JSON.parse(r.stdout) as { certificate: { ca: string; serial: string }; files: { certificate: string; chain: string } };
    expect(issued.certificate.ca).toBe('province-440000-staff-2');
    files.after = issued.files.certificate;
    files.afterChain = issued.files.chain;
    const chain = readFileSync(issued.files.chain, 'utf8');
    const successorPem = chain.slice(0, chain.indexOf('-----END CERTIFICATE-----') + 26);
    writeFileSync((files.successor = join(dir, 'successor-ca.pem')), successorPem);
    expect(chain.endsWith(readFileSync(files.root!, 'utf8'))).toBe(true);
    const toReissue = JSON.parse((await cli('list', '--ca', 'province-440000-staff', '--status', 'active', '--json')).stdout) as { certificates: { serial: string }[] };
    expect(toReissue.certificates.map((c) => c.serial)).toEqual([before.record.serial]);
    const unknown = await cli('list', '--ca', 'nope');
    expect(unknown.stderr).toBe('jinbao: --ca: got "nope", want one of root, infrastructure, ministry-staff, province-440000-staff, province-440000-staff-2\n');
  });

  it('GIVEN the old id named explicitly THEN it still names the old CA: its CRL is cut, issuing under it is refused with the successor', async () => {
    expect((await cli('crl', '--ca', 'province-440000-staff', '--out', out)).code).toBe(0);
    const r = await cli('issue', '--profile', 'ocsp-signing', '--site', '000000', '--ca', 'province-440000-staff', '--generate', '--subject', 'CN=OCSP old', '--out', join(dir, 'x'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`^jinbao: issuing CA province-440000-staff: got a revoked CA \\(since ${ISO}, cACompromise\\), want an active one; it issues nothing more; province-440000-staff-2 replaced it \\(--ca province-440000-staff-2\\)\n$`),
    );
  });

  it.skipIf(!hasOpenssl)('GIVEN the root CRL cut after the revocation THEN openssl verify -crl_check_all accepts the new certificate and refuses the one under the revoked CA', async () => {
    expect((await cli('crl', '--ca', 'province-440000-staff-2', '--out', out)).stdout).toContain('full CRL 1 of province-440000-staff-2: 0 revoked');
    // Both issuing CAs untrusted side by side, as a relying party holding every published CA certificate would.
    writeFileSync((files.both = join(dir, 'both-cas.pem')), readFileSync(files.old!, 'utf8') + readFileSync(files.successor!, 'utf8'));
    const crls = [crl('root'), crl('province-440000-staff'), crl('province-440000-staff-2')];
    const ok = verify(files.root!, files.both!, crls, files.after!);
    expect(ok.out).toContain(': OK');
    expect(ok.status).toBe(0);
    const refused = verify(files.root!, files.both!, crls, files.before!);
    expect(refused.status).not.toBe(0);
    expect(refused.out).toContain('error 23 at 1 depth lookup: certificate revoked');
  });

  it('GIVEN the staff indicator THEN the re-issued certificate counts and the one under the revoked CA does not', async () => {
    const state = await openDatabase(dir);
    try {
      const pki = await PkiStore.open(state, dir);
      expect((await staffCertificateHolders(pki)).get('440300')).toBe(1);
      expect((await staffCertificateHolders(pki)).get('440100')).toBeUndefined();
    } finally {
      await state.close();
    }
  });
});

describe('replaceCa on the infrastructure CA: replicas, evidence signing and metrics work again', () => {
  let t: TestPki;
  let oldServer: Issued;
  let out: string;
  const cli = (...args: string[]) => runCli(['--state', join(t.dir, 'state'), 'pki', ...args], ENV);

  beforeAll(async () => {
    t = await testPki();
    out = join(t.dir, 'crl');
    oldServer = await t.issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=yl.440100.jinbao.internal' }, validityDays: 10 });
  });
  afterAll(() => t.cleanup());

  function expiring30d(registry: Registry): Promise<string> {
    return registry.getSingleMetricAsString('jinbao_pki_certificates_expiring_30d');
  }

  it('GIVEN infrastructure revoked WHEN it is replaced THEN infrastructure-2 has its purpose, algorithm and backend, and a third generation follows the same scheme', async () => {
    const registry = new Registry();
    registerPkiMetrics(registry, async () => t.pki);
    expect(await expiring30d(registry)).toContain('jinbao_pki_certificates_expiring_30d{profile="server-tls"} 1');
    await t.pki.markCaRevoked('infrastructure', 'cACompromise');
    // Dead already: the 30-day horizon does not count certificates under a revoked CA.
    expect(await expiring30d(registry)).not.toContain('profile="server-tls"');
    const { replaced, successor } = await replaceCa(t.pki, 'infrastructure', PASS, { actor: 'ops' });
    expect(replaced).toMatchObject({ id: 'infrastructure', status: 'revoked' });
    expect(successor).toMatchObject({ id: 'infrastructure-2', role: 'issuing', purpose: 'infrastructure', site: null, algorithm: 'ecdsa-p256', keyBackend: 'software', keyRef: 'infrastructure-2.key.pem', parentId: 'root', replaces: 'infrastructure', status: 'active' });
    expect(successor.subject).toMatch(/CN=Jinbao Infrastructure CA G2$/);
    expect((await t.pki.currentCa('infrastructure'))?.id).toBe('infrastructure-2');
    await t.issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=yl2.440100.jinbao.internal' }, validityDays: 10 });
    expect(await expiring30d(registry)).toContain('jinbao_pki_certificates_expiring_30d{profile="server-tls"} 1');
  });

  let replica: Awaited<ReturnType<typeof replicaTlsMaterial>>;

  it('GIVEN infrastructure-2 THEN replica TLS material and its CA bundle come from it', async () => {
    replica = await replicaTlsMaterial(t.pki, t.fabric, { site: '440100', commonName: 'pg.440100.jinbao.internal', passphrase: PASS });
    expect((await t.pki.findCertificate(replica.serial))?.caId).toBe('infrastructure-2');
    const successorPem = toPem((await t.pki.getCa('infrastructure-2'))!.der);
    const rootPem = toPem((await t.pki.getCa('root'))!.der);
    expect(replica.caBundlePem).toBe(rootPem + successorPem);
    expect(await caBundlePem(t.pki)).toBe(rootPem + successorPem);
    expect(replica.fullChainPem).toBe(replica.certificatePem + successorPem);
  });

  it.skipIf(!hasOpenssl)('GIVEN that replica certificate THEN OpenSSL accepts it against the root CRL and refuses the old server certificate', async () => {
    const m = replica;
    const successorPem = toPem((await t.pki.getCa('infrastructure-2'))!.der);
    const rootPem = toPem((await t.pki.getCa('root'))!.der);
    for (const ca of ['root', 'infrastructure', 'infrastructure-2']) expect((await cli('crl', '--ca', ca, '--out', out)).code).toBe(0);
    const write = (name: string, pem: string) => {
      const f = join(t.dir, name);
      writeFileSync(f, pem);
      return f;
    };
    const root = write('root.pem', rootPem);
    const cas = write('cas.pem', toPem((await t.pki.getCa('infrastructure'))!.der) + successorPem);
    const crls = ['root', 'infrastructure', 'infrastructure-2'].map((c) => join(out, `${c}.crl.pem`));
    const ok = verify(root, cas, crls, write('replica.pem', m.certificatePem));
    expect(ok.out).toContain(': OK');
    expect(ok.status).toBe(0);
    const refused = verify(root, cas, crls, write('old-server.pem', toPem(oldServer.certificateDer)));
    expect(refused.status).not.toBe(0);
    expect(refused.out).toContain('error 23 at 1 depth lookup: certificate revoked');
  });

  it('GIVEN infrastructure-2 THEN DR evidence is signed under it and verifies against the store', async () => {
    const signer = await evidenceSigner(t.pki, t.fabric, { site: '440100', commonName: 'drill 440100', passphrase: PASS });
    expect((await t.pki.findCertificate(signer.serial))?.caId).toBe('infrastructure-2');
    const signature = await signer.sign('drill report');
    expect(await verifyEvidence('drill report', signature, { rootPem: toPem((await t.pki.getCa('root'))!.der), pki: t.pki })).toMatchObject({ ok: true });
  });

  it('GIVEN infrastructure-2 revoked too WHEN it is replaced THEN the line continues as infrastructure-3 with " G3", and the default OCSP signer follows', async () => {
    await t.pki.markCaRevoked('infrastructure-2', 'keyCompromise');
    await expect(t.issuer.issue({ profile: 'ocsp-signing', site: '000000', generate: { subject: 'CN=OCSP infra' } })).rejects.toThrow(
      /^issuing CA infrastructure-2: got a revoked CA \(since .*, keyCompromise\), want an active one; it issues nothing more; create its successor with: jinbao pki replace-ca --ca infrastructure-2$/,
    );
    await expect(caBundlePem(t.pki)).rejects.toThrow(/want an unrevoked chain; infrastructure-2 issues nothing more, so replicas need its successor: jinbao pki replace-ca --ca infrastructure-2, then new replica certificates \(jinbao up\)$/);
    const { successor } = await replaceCa(t.pki, 'infrastructure-2', PASS);
    expect(successor).toMatchObject({ id: 'infrastructure-3', replaces: 'infrastructure-2' });
    expect(successor.subject).toMatch(/CN=Jinbao Infrastructure CA G3$/);
    expect((await t.pki.currentCa('infrastructure'))?.id).toBe('infrastructure-3');
    const ocsp = await t.issuer.issue({ profile: 'ocsp-signing', site: '000000', generate: { subject: 'CN=OCSP infra' } });
    expect(ocsp.record.caId).toBe('infrastructure-3');
    await expect(replaceCa(t.pki, 'infrastructure', PASS)).rejects.toThrow(/^CA infrastructure is already replaced by infrastructure-2 \(created .*, status revoked\); nothing changed\. infrastructure-2 issues in its place; replace it instead: jinbao pki replace-ca --ca infrastructure-2$/);
  });

  it('GIVEN a wrong passphrase THEN replacement is refused before any key or record is written', async () => {
    await t.pki.markCaRevoked('ministry-staff', 'cACompromise');
    const cas = (await t.pki.listCas()).length;
    await expect(replaceCa(t.pki, 'ministry-staff', 'not the passphrase at all')).rejects.toThrow(/^wrong passphrase for /);
    expect((await t.pki.listCas()).length).toBe(cas);
    const { successor } = await replaceCa(t.pki, 'ministry-staff', PASS);
    expect(successor).toMatchObject({ id: 'ministry-staff-2', purpose: 'staff', site: '000000' });
    const csr = opensslCsr(t.dir, opensslKey(t.dir, 'ministry', 'p256'), '/CN=王五/serialNumber=M0001');
    expect((await t.issuer.issue({ profile: 'staff-sign', site: '000000', csr })).record.caId).toBe('ministry-staff-2');
  });
});

describe('the pki schema upgrade that links a successor CA to the CA it replaces', () => {
  it('GIVEN a store at the previous version WHEN it is opened THEN CAs gain replaces = null and one CA can have only one successor', async () => {
    const { dir, cleanup } = tempDir('jinbao-replace-schema-');
    try {
      const state = await openDatabase(dir);
      await state.migrate('pki', PKI_MIGRATIONS.slice(0, 2));
      expect((await state.versions()).pki).toBe(2);
      const pki = await PkiStore.open(state, dir);
      expect((await state.versions()).pki).toBe(PKI_MIGRATIONS.length);
      expect(await state.query("SELECT COUNT(*) AS n FROM pragma_table_info('pki_cas') WHERE name = 'replaces'")).toEqual([{ n: 1 }]);
      expect(await state.query(`SELECT COUNT(*) AS n FROM pragma_index_list('pki_cas') WHERE name = 'pki_cas_replaces' AND "unique" = 1`)).toEqual([{ n: 1 }]);
      expect(await pki.successorOf('root')).toBeUndefined();
      expect(await pki.currentCa('root')).toBeUndefined();
      await state.close();
    } finally {
      cleanup();
    }
  });
});
