import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalOpsContext } from '../../orchestration/context.js';
import { pkiUpStage } from '../../orchestration/up.js';
import { openDatabase } from '../../lib/sql/index.js';
import { caBundlePem, demoPassphrase, evidenceSigner, mlps3Applications, PkiStore, registerPkiMetrics, replaceCa, replicaTlsMaterial, staffCertificateHolders, toPem, verifyEvidence, type CaAlgorithm } from '../index.js';
import { AcmeStore } from '../acme/index.js';
import { inventoryFile, mustOpenssl, opensslCsr, opensslKey, PASS, smallFabric, testPki, type TestPki } from './helpers.js';

describe('replica TLS material', () => {
  let t: TestPki;
  beforeAll(async () => {
    t = await testPki('ecdsa-p256');
  });
  afterAll(() => t.cleanup());

  it('GIVEN primary and standby material WHEN they connect with mutual TLS on loopback THEN each verifies the other', async () => {
    const primary = await replicaTlsMaterial(t.pki, t.fabric, { site: '440000', commonName: 'pg.s440000.jinbao.internal', ipAddresses: ['127.0.0.1'], passphrase: PASS });
    const standby = await replicaTlsMaterial(t.pki, t.fabric, { site: '440300', commonName: 'pg-dr.s440300.jinbao.internal', passphrase: PASS });
    const seenByServer: string[] = [];
    const server = createServer({ key: primary.privateKeyPem, cert: primary.fullChainPem, ca: primary.caBundlePem, requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
      seenByServer.push(String(s.getPeerCertificate().subject.CN));
      s.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const reply = await new Promise<{ cn: string; data: string }>((resolve, reject) => {
        const c = connect({ host: '127.0.0.1', port, servername: 'pg.s440000.jinbao.internal', key: standby.privateKeyPem, cert: standby.fullChainPem, ca: standby.caBundlePem }, () => {
          let data = '';
          c.on('data', (d) => (data += d));
          c.on('end', () => resolve({ cn: String(c.getPeerCertificate().subject.CN), data }));
        });
        c.on('error', reject);
      });
      expect(reply).toEqual({ cn: 'pg.s440000.jinbao.internal', data: 'ok' });
      expect(seenByServer).toEqual(['pg-dr.s440300.jinbao.internal']);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('GIVEN material THEN OpenSSL accepts it for server and client use and the key matches the certificate', async () => {
    const m = await replicaTlsMaterial(t.pki, t.fabric, { site: '440000', commonName: 'pg2.s440000.jinbao.internal', passphrase: PASS });
    const f = (n: string, s: string) => (writeFileSync(join(t.dir, n), s), join(t.dir, n));
    const bundle = f('bundle.pem', m.caBundlePem);
    const chain = f('fullchain.pem', m.fullChainPem);
    const leaf = f('leaf.pem', m.certificatePem);
    for (const purpose of ['sslserver', 'sslclient']) expect(mustOpenssl(['verify', '-purpose', purpose, '-CAfile', bundle, leaf])).toContain('OK');
    expect(mustOpenssl(['x509', '-in', chain, '-noout', '-pubkey'])).toBe(mustOpenssl(['pkey', '-in', f('key.pem', m.privateKeyPem), '-pubout']));
  });
});

describe.each(['ecdsa-p256', 'sm2'] as CaAlgorithm[])('evidence signing (%s)', (algorithm) => {
  let t: TestPki;
  let other: TestPki;
  beforeAll(async () => {
    t = await testPki(algorithm);
    other = await testPki(algorithm);
  });
  afterAll(async () => {
    await t.cleanup();
    await other.cleanup();
  });

  it('GIVEN a signed report THEN it verifies; altered, foreign-rooted or revoked signers are named', async () => {
    const signer = await evidenceSigner(t.pki, t.fabric, { site: '440000', commonName: 'drill 440000', passphrase: PASS });
    const report = JSON.stringify({ site: '440000', rtoSeconds: 42, rpoRows: 0 });
    const sig = await signer.sign(report);
    const root = toPem((await t.pki.getCa('root'))!.der);
    expect(await verifyEvidence(report, sig, { rootPem: root, pki: t.pki })).toMatchObject({ ok: true, signer: { serial: signer.serial } });
    expect((await verifyEvidence(report.replace('42', '41'), sig, { rootPem: root })).reason).toBe(
      "signature: got one that does not match the payload, want a signature by the certificate's key over these exact bytes (the evidence was altered)",
    );
    expect((await verifyEvidence(report, sig, { rootPem: toPem((await other.pki.getCa('root'))!.der) })).reason).toBe('chain: got a chain that does not end at the trusted root, want one issued under it');
    await t.pki.markRevoked(signer.serial, 'keyCompromise');
    expect((await verifyEvidence(report, sig, { rootPem: root, pki: t.pki })).reason).toMatch(/^revocation: got a signer certificate revoked at .* \(keyCompromise\), want an unrevoked one$/);
  });
});

describe('KPI facts and metrics from the store', () => {
  let t: TestPki;
  beforeAll(async () => {
    t = await testPki('ecdsa-p256');
  });
  afterAll(() => t.cleanup());

  it('GIVEN auth and sign certificates for one person, a revoked one and an expired one THEN each person counts once and only while covered', async () => {
    const csr = (name: string, staffNo: string) => opensslCsr(t.dir, opensslKey(t.dir, name, 'p256'), `/CN=${name}/serialNumber=${staffNo}`, { name });
    await t.issuer.issue({ profile: 'staff-auth', site: '440100', csr: csr('a1', 'S0001') });
    await t.issuer.issue({ profile: 'staff-sign', site: '440100', csr: csr('a2', 'S0001') });
    const revoked = await t.issuer.issue({ profile: 'staff-auth', site: '440100', csr: csr('b', 'S0002') });
    await t.pki.markRevoked(revoked.record.serial, 'affiliationChanged');
    await t.issuer.issue({ profile: 'staff-auth', site: '440300', csr: csr('c', 'S0003'), validityDays: 1 });
    await t.issuer.issue({ profile: 'staff-auth', site: '000000', csr: csr('d', 'S0004') });
    expect(await staffCertificateHolders(t.pki)).toEqual(new Map([['000000', 1], ['440100', 1], ['440300', 1]]));
    expect(await staffCertificateHolders(t.pki, new Date(Date.now() + 2 * 86_400_000))).toEqual(new Map([['000000', 1], ['440100', 1]]));
  });

  it('GIVEN a hand-issued server-tls certificate for a hosted domain THEN the application is not covered but listed as hand-issued; once ACME issued one THEN it is covered', async () => {
    const fabric = smallFabric();
    const before = await mlps3Applications(t.pki, fabric);
    const domain = fabric.domains(fabric.site('440100'))[0]!;
    await t.issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=app.s440100.jinbao.internal' }, application: domain });
    const byHand = await mlps3Applications(t.pki, fabric);
    expect(before.total).toBe(fabric.sites.reduce((n, s) => n + (s.mlpsLevel >= 3 ? fabric.domains(s).length : 0), 0));
    expect(byHand).toMatchObject({ total: before.total, withCertificates: before.withCertificates });
    expect(byHand.missing).toContain(`440100/${domain}`);
    expect(byHand.handIssued).toEqual([`440100/${domain}`]);

    const viaAcme = await t.issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=app2.s440100.jinbao.internal' }, application: domain, actor: 'acme:a1' });
    await AcmeStore.open(t.pki.db);
    await t.pki.db.run(
      "INSERT INTO acme_certificates (id, serial, account_id, order_id, chain_pem, not_before, not_after, created_at) VALUES ('c1', $1, 'a1', 'o1', '', $2, $3, $2)",
      [viaAcme.record.serial, viaAcme.record.notBefore.toISOString(), viaAcme.record.notAfter.toISOString()],
    );
    const after = await mlps3Applications(t.pki, fabric);
    expect(after).toMatchObject({ total: before.total, withCertificates: before.withCertificates + 1, handIssued: [] });
    expect(after.missing).not.toContain(`440100/${domain}`);
  });

  it('GIVEN certificates THEN the metrics show issued and revoked counts, CA expiry and the 30-day horizon', async () => {
    const registry = new Registry();
    registerPkiMetrics(registry, async () => t.pki);
    const text = await registry.metrics();
    expect(text).toContain('jinbao_pki_certificates_issued_total{profile="staff-auth"} 4');
    expect(text).toContain('jinbao_pki_certificates_issued_total{profile="staff-sign"} 1');
    expect(text).toContain('jinbao_pki_certificates_revoked_total{profile="staff-auth"} 1');
    expect(text).toMatch(/jinbao_pki_ca_expiry_seconds\{ca="root",status="active"\} 6\d{8}/);
    expect(text).toContain('jinbao_pki_certificates_expiring_30d{profile="staff-auth"} 1');
    expect(text).not.toContain('jinbao_pki_certificates_expiring_30d{profile="server-tls"}');
    const empty = new Registry();
    registerPkiMetrics(empty, async () => undefined);
    expect(await empty.metrics()).not.toMatch(/^jinbao_pki_certificates_issued_total\{/m);
  });
});

describe('the up stage', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jinbao-pki-up-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = async () => {
    const ctx = new LocalOpsContext({ inventory: inventoryFile(dir), stateDir: join(dir, 'state') });
    try {
      return await pkiUpStage.run(ctx, { fabric: ctx.fabric(), outDir: join(dir, 'out'), note: () => {} });
    } finally {
      await ctx.close();
    }
  };

  it('GIVEN an empty state WHEN up runs twice THEN the demo hierarchy and DR replica certificates are created once and kept', async () => {
    const first = await run();
    expect(first.lines[0]).toMatch(/^pki: WARNING: DEMO KEY STORE\./);
    expect(first.lines).toContain(`pki: CA hierarchy created (ecdsa-p256) in ${join(dir, 'state')}`);
    expect(first.lines.at(-1)).toBe(`pki: 2 DR pairings, replica-mtls certificates 4 issued, 0 kept; files in ${join(dir, 'out', 'pki', 'replica')}`);
    const demo = async () => {
      const db = await openDatabase(join(dir, 'state'));
      try {
        return await demoPassphrase(await PkiStore.open(db, join(dir, 'state')));
      } finally {
        await db.close();
      }
    };
    const passphrase = await demo();
    expect(passphrase).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(existsSync(join(dir, 'state', 'pki'))).toBe(false);
    expect(statSync(join(dir, 'out', 'pki', 'replica', '440000', 'standby.key.pem')).mode & 0o777).toBe(0o600);
    const bundle = join(dir, 'out', 'pki', 'replica', '440000', 'ca-bundle.pem');
    expect(mustOpenssl(['verify', '-purpose', 'sslserver', '-CAfile', bundle, join(dir, 'out', 'pki', 'replica', '440000', 'standby.crt.pem')])).toContain('OK');
    const second = await run();
    expect(second.lines.at(-1)).toBe(`pki: 2 DR pairings, replica-mtls certificates 0 issued, 4 kept; files in ${join(dir, 'out', 'pki', 'replica')}`);
    expect(await demo()).toBe(passphrase);
    expect(existsSync(join(dir, 'out', 'pki', 'replica', '000000', 'primary.crt.pem'))).toBe(true);
    expect(caBundlePem).toBeTypeOf('function');
  });

  it('GIVEN the infrastructure CA revoked and replaced WHEN up runs again THEN every replica certificate is issued anew under the successor', async () => {
    const db = await openDatabase(join(dir, 'state'));
    try {
      const pki = await PkiStore.open(db, join(dir, 'state'));
      await pki.markCaRevoked('infrastructure', 'cACompromise');
      await replaceCa(pki, 'infrastructure', (await demoPassphrase(pki))!);
    } finally {
      await db.close();
    }
    const third = await run();
    expect(third.lines.at(-1)).toBe(`pki: 2 DR pairings, replica-mtls certificates 4 issued, 0 kept; files in ${join(dir, 'out', 'pki', 'replica')}`);
    const replica = join(dir, 'out', 'pki', 'replica', '440000');
    expect(mustOpenssl(['verify', '-purpose', 'sslserver', '-CAfile', join(replica, 'ca-bundle.pem'), join(replica, 'standby.crt.pem')])).toContain('OK');
    expect(mustOpenssl(['x509', '-in', join(replica, 'standby.crt.pem'), '-noout', '-issuer'])).toContain('CN = Jinbao Infrastructure CA G2');
  });
});
