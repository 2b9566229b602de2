/**
 * A planned rollover of Guangdong's staff CA while `jinbao serve` runs, judged by OpenSSL as a
 * relying party that trusts only the root: certificates of the old CA keep verifying, a revocation
 * among them shows on the old CA's CRLs and OCSP answers served after the rollover, new enrollments
 * and renewals (CMP ir, kur) come from the successor and verify with the same root, and `pki cas`
 * shows the timeline. The tests run in order.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { p256Csr } from '../../pki/acme/client.js';
import { createCmpSecrets } from '../../pki/cmp/index.js';
import { Issuer, toPem } from '../../pki/index.js';
import { opensslCsr, opensslKey } from '../../pki/test/helpers.js';
import { PASS, startFixture, type Fixture } from './fixture.js';

/** openssl, asynchronously: the service under test runs in this process and must keep answering. */
function openssl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile('openssl', args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr })));
}

function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

const pemCrl = (der: Buffer) => `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END X509 CRL-----\n`;

interface TimelineCa {
  id: string;
  status: string;
  replaces: string | null;
  successor: string | null;
  notBefore: string;
  notAfter: string;
  retiringAt: string | null;
  lastCertificateExpiry: string | null;
  validCertificates: number;
}

describe('jinbao pki rollover-ca while jinbao serve answers: relying parties notice nothing', () => {
  let f: Fixture;
  let g: string[];
  const env = { JINBAO_PKI_PASSPHRASE: PASS };
  const file = (name: string) => join(f.dir, name);
  const base = () => f.running.service.httpUrl!;
  const cmp = () => ['-server', `127.0.0.1:${f.running.service.port}`, '-path', 'cmp/440100', '-tls_used', '-tls_trusted', file('root.pem'), '-trusted', file('root.pem')];
  const timeline = async () => (JSON.parse((await runCli([...g, 'pki', 'cas', '--json'], env)).stdout) as { cas: TimelineCa[] }).cas;
  /** The old CA's full CRL and the root's, fetched from the service as a relying party would. */
  const crls = async (ca: string) => {
    for (const [name, url] of [[`${ca}.crl.pem`, `${base()}/crl/${ca}.crl`], [`${ca}-delta.crl.pem`, `${base()}/crl/${ca}-delta.crl`], ['root.crl.pem', `${base()}/crl/root.crl`]] as const) {
      const r = await get(url);
      expect(r.status).toBe(200);
      writeFileSync(file(name), pemCrl(r.body));
    }
    return ['-CRLfile', file(`${ca}.crl.pem`), '-CRLfile', file(`${ca}-delta.crl.pem`), '-CRLfile', file('root.crl.pem')];
  };

  beforeAll(async () => {
    f = await startFixture({ httpListen: true });
    g = ['--inventory', join(f.dir, 'inventory.json'), '--state', join(f.dir, 'state')];
    writeFileSync(file('root.pem'), f.rootPem);
    // Two Guangdong staff before the rollover: one keeps their certificate, one renews it over CMP kur.
    const issuer = new Issuer(f.pki, f.ctx.fabric(), PASS);
    for (const [name, subject] of [['keeper', '/CN=张三/serialNumber=S0001'], ['renewer', '/CN=李四/serialNumber=S0002']] as const) {
      const key = opensslKey(f.dir, name, 'p256');
      const issued = await issuer.issue({ profile: 'staff-auth', site: '440100', csr: opensslCsr(f.dir, key, subject) });
      writeFileSync(file(`${name}.pem`), toPem(issued.certificateDer));
    }
    writeFileSync(file('old-ca.pem'), toPem((await f.pki.getCa('province-440000-staff'))!.der));
    writeFileSync(file('old-chain.pem'), toPem((await f.pki.getCa('province-440000-staff'))!.der) + f.rootPem);
  }, 60_000);
  afterAll(async () => f?.close());

  it('GIVEN the root, the CA or a CA that does not exist THEN rollover-ca refuses, audited, and nothing changes', async () => {
    const root = await runCli([...g, 'pki', 'rollover-ca', '--ca', 'root'], env);
    expect(root.code).toBe(2);
    expect(root.stderr).toContain('jinbao: CA root: got the root CA, want an active issuing CA; nothing above the root signs its successor.');
    const unknown = await runCli([...g, 'pki', 'rollover-ca', '--ca', 'province-999999-staff'], env);
    expect(unknown.stderr).toBe('jinbao: unknown CA: got "province-999999-staff", want one of the active issuing CAs: infrastructure, ministry-staff, province-440000-staff\n');
    expect((await f.audit('pki.ca.rollover')).map((e) => e.outcome)).toEqual(['refused', 'refused']);
    expect((await timeline()).map((c) => c.status)).toEqual(['active', 'active', 'active', 'active']);
  });

  it('WHEN the province staff CA is rolled over THEN its successor is active and it is retiring, with the timeline in pki cas', async () => {
    const r = await runCli([...g, 'pki', 'rollover-ca', '--ca', 'province-440000-staff', '--json'], env);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { retiring: TimelineCa; successor: TimelineCa & { subject: string } };
    expect(out.retiring).toMatchObject({ id: 'province-440000-staff', status: 'retiring', successor: 'province-440000-staff-2', validCertificates: 2 });
    expect(out.successor).toMatchObject({ id: 'province-440000-staff-2', status: 'active', replaces: 'province-440000-staff', successor: null });
    expect(out.successor.subject).toContain('G2');
    const cas = await timeline();
    const old = cas.find((c) => c.id === 'province-440000-staff')!;
    expect(old.lastCertificateExpiry).not.toBeNull();
    expect(Date.parse(old.lastCertificateExpiry!)).toBeGreaterThan(Date.now() + 300 * 86_400_000);
    const text = (await runCli([...g, 'pki', 'cas'], env)).stdout;
    expect(text).toMatch(new RegExp(`province-440000-staff .*retiring until ${old.lastCertificateExpiry!.slice(0, 10)}, succeeded by province-440000-staff-2\\n`));
    expect(text).toMatch(/province-440000-staff-2 .*active, successor of province-440000-staff\n/);
    expect(text.split('\n')[0]).toMatch(/validity\s+last cert expires\s+status/);
    const zh = (await runCli([...g, 'pki', 'cas'], { ...env, LANG: 'zh_CN.UTF-8' })).stdout;
    expect(zh).toContain(`退役中，至 ${old.lastCertificateExpiry!.slice(0, 10)}，由 province-440000-staff-2 接替`);
    expect((await f.audit('pki.ca.rollover')).filter((e) => e.outcome === 'ok').map((e) => e.details.successor)).toEqual(['province-440000-staff-2']);
    // A second rollover of the same CA is refused: its successor is the one to roll over.
    const again = await runCli([...g, 'pki', 'rollover-ca', '--ca', 'province-440000-staff'], env);
    expect(again.stderr).toContain('CA province-440000-staff already has its successor province-440000-staff-2');
    writeFileSync(file('new-ca.pem'), (await runCli([...g, 'pki', 'cas', '--pem', 'province-440000-staff-2'], env)).stdout);
  });

  it('THEN a certificate of the retiring CA still verifies with the root and the CRLs the service serves, and OCSP answers good', async () => {
    const v = await openssl(['verify', '-crl_check_all', '-use_deltas', '-CAfile', file('root.pem'), '-untrusted', file('old-ca.pem'), ...(await crls('province-440000-staff')), file('keeper.pem')]);
    expect(v.out).toContain('keeper.pem: OK');
    const o = await openssl(['ocsp', '-issuer', file('old-ca.pem'), '-cert', file('keeper.pem'), '-url', `${base()}/ocsp/province-440000-staff`, '-CAfile', file('root.pem'), '-verify_other', file('old-ca.pem')]);
    expect(o.out).toContain('Response verify OK');
    expect(o.out).toMatch(/keeper\.pem: good/);
  });

  it('WHEN a certificate of the retiring CA is revoked THEN its CRLs (signed by the retiring CA) and its OCSP answers say so', async () => {
    const serial = (await openssl(['x509', '-in', file('keeper.pem'), '-noout', '-serial'])).out.trim().split('=')[1]!;
    expect((await runCli([...g, 'pki', 'revoke', '--serial', serial, '--reason', 'keyCompromise'], env)).code).toBe(0);
    const args = await crls('province-440000-staff');
    const delta = await openssl(['crl', '-in', file('province-440000-staff-delta.crl.pem'), '-noout', '-text', '-CAfile', file('old-chain.pem'), '-nameopt', 'sep_comma_plus_space']);
    expect(delta.out).toContain('verify OK');
    expect(delta.out).toContain('Issuer: C=CN, O=Ministry of Human Resources and Social Security, OU=site 440000, CN=Jinbao Staff CA s440000\n');
    expect(delta.out).toContain(serial.replace(/^0+/, ''));
    const v = await openssl(['verify', '-crl_check_all', '-use_deltas', '-CAfile', file('root.pem'), '-untrusted', file('old-ca.pem'), ...args, file('keeper.pem')]);
    expect(v.out).toContain('certificate revoked');
    expect(v.code).not.toBe(0);
    const o = await openssl(['ocsp', '-issuer', file('old-ca.pem'), '-cert', file('keeper.pem'), '-url', `${base()}/ocsp/province-440000-staff`, '-CAfile', file('root.pem'), '-verify_other', file('old-ca.pem')]);
    expect(o.out).toContain('Response verify OK');
    expect(o.out).toMatch(/keeper\.pem: revoked/);
  });

  it('WHEN someone enrolls over CMP after the rollover THEN the successor signs their certificate, which verifies with the same root', async () => {
    const [s] = await createCmpSecrets(f.ctx, f.ctx.fabric(), PASS, [{ site: '440100', profile: 'staff-auth', subject: '/CN=王五/serialNumber=S0003' }]);
    const key = opensslKey(f.dir, 'joiner', 'p256');
    const r = await openssl(['cmp', '-cmd', 'ir', ...cmp(), '-ref', s!.reference, '-secret', `pass:${s!.secret}`, '-newkey', key, '-subject', '/CN=王五/serialNumber=S0003', '-certout', file('joiner.pem')]);
    expect(r.out).toContain('received PKICONF');
    expect((await openssl(['x509', '-in', file('joiner.pem'), '-noout', '-issuer', '-nameopt', 'sep_comma_plus_space'])).out).toContain('CN=Jinbao Staff CA s440000 G2\n');
    const v = await openssl(['verify', '-crl_check_all', '-use_deltas', '-CAfile', file('root.pem'), '-untrusted', file('new-ca.pem'), ...(await crls('province-440000-staff-2')), file('joiner.pem')]);
    expect(v.out).toContain('joiner.pem: OK');
  });

  it('WHEN a holder of the retiring CA renews over CMP kur THEN the successor certifies the new key and the old certificate is superseded', async () => {
    const key = opensslKey(f.dir, 'renewed', 'p256');
    const r = await openssl(['cmp', '-cmd', 'kur', ...cmp(), '-untrusted', file('old-ca.pem'), '-cert', file('renewer.pem'), '-key', file('renewer.key'), '-newkey', key, '-certout', file('renewed.pem')]);
    expect(r.out).toContain('received PKICONF');
    expect((await openssl(['x509', '-in', file('renewed.pem'), '-noout', '-issuer', '-subject', '-nameopt', 'utf8,sep_comma_plus_space'])).out).toMatch(/issuer=.*CN=Jinbao Staff CA s440000 G2\nsubject=.*serialNumber=S0002, CN=李四/);
    expect((await openssl(['verify', '-CAfile', file('root.pem'), '-untrusted', file('new-ca.pem'), file('renewed.pem')])).out).toContain('renewed.pem: OK');
    const serial = (await openssl(['x509', '-in', file('renewer.pem'), '-noout', '-serial'])).out.trim().split('=')[1]!;
    const old = await f.pki.findCertificate(serial);
    expect([old?.status, old?.revocationReason]).toEqual(['revoked', 'superseded']);
  });

  it('WHEN the infrastructure CA is rolled over THEN ACME issues from its successor, verified with the same root', async () => {
    expect((await runCli([...g, 'pki', 'rollover-ca', '--ca', 'infrastructure'], env)).code).toBe(0);
    const client = await f.account('440100');
    const names = ['app.s440100.jinbao.internal'];
    const order = await client.newOrder(names);
    const ready = await client.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
    const fin = await client.finalize(ready, p256Csr(names, { noCommonName: true }).der);
    expect(fin.status, fin.body.toString()).toBe(200);
    const done = await client.pollOrder(order.url, (s) => s === 'valid' || s === 'invalid');
    const chain = await client.certificate(done.certificate!);
    const end = chain.indexOf('-----END CERTIFICATE-----') + 26;
    writeFileSync(file('acme.pem'), chain.slice(0, end));
    writeFileSync(file('acme-inter.pem'), `${chain.slice(end).trim()}\n`);
    expect((await openssl(['x509', '-in', file('acme.pem'), '-noout', '-issuer', '-nameopt', 'sep_comma_plus_space'])).out).toContain('CN=Jinbao Infrastructure CA G2\n');
    expect((await openssl(['verify', '-CAfile', file('root.pem'), '-untrusted', file('acme-inter.pem'), file('acme.pem')])).out).toContain('acme.pem: OK');
  });

  it('WHEN the last certificate of the retiring CA has expired THEN it is retired: it signs no more CRLs, the service serves its last one', async () => {
    const old = (await timeline()).find((c) => c.id === 'province-440000-staff')!;
    const retired = await f.pki.retireFinishedCas({ now: new Date(Date.parse(old.lastCertificateExpiry!) + 1000), actor: 'test' });
    expect(retired.map((c) => [c.id, c.status])).toContainEqual(['province-440000-staff', 'retired']);
    expect((await f.audit('pki.ca.retire')).map((e) => e.details.successor)).toContain('province-440000-staff-2');
    const text = (await runCli([...g, 'pki', 'cas'], env)).stdout;
    expect(text).toMatch(/province-440000-staff .*retired on \d{4}-\d\d-\d\d, succeeded by province-440000-staff-2\n/);
    const cut = await runCli([...g, 'pki', 'crl', '--ca', 'province-440000-staff', '--out', file('crl')], env);
    expect(cut.code).toBe(2);
    expect(cut.stderr).toContain('CA province-440000-staff: got a retired CA');
    const served = await get(`${base()}/crl/province-440000-staff.crl`);
    expect(served.status).toBe(200);
    writeFileSync(file('last.crl.pem'), pemCrl(served.body));
    const last = await openssl(['crl', '-in', file('last.crl.pem'), '-noout', '-text', '-CAfile', file('old-chain.pem'), '-nameopt', 'sep_comma_plus_space']);
    expect(last.out).toContain('verify OK');
    expect(last.out).toContain('CN=Jinbao Staff CA s440000\n');
  });
});
