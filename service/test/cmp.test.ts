/**
 * The real CMP client against `jinbao serve`: `openssl cmp` enrolls a staff member's own key with a
 * one-time reference and secret (ir, p10cr), renews it signed by the current certificate (cr, kur)
 * and revokes it (rr), over TLS; openssl verifies every certificate and shows the staff profile's
 * GM/T 0015 extensions and the Chinese name.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCmpSecrets, type CreatedSecret } from '../../pki/cmp/index.js';
import { PASS, startFixture, type Fixture } from './fixture.js';

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr })));
}

function serialOf(cert: string): string {
  return spawnSync('openssl', ['x509', '-in', cert, '-noout', '-serial'], { encoding: 'utf8' }).stdout.trim().split('=')[1]!.toLowerCase().replace(/^0+/, '');
}

const SUBJECT = 'CN=张三, serialNumber=S0001';
const IDENTITY = '11010519491231002X';

describe('openssl cmp against jinbao serve', () => {
  let f: Fixture;
  let dir: string;
  const port = () => f.running.service.port;
  const common = () => ['-server', `127.0.0.1:${port()}`, '-path', 'cmp/440100', '-tls_used', '-tls_trusted', join(dir, 'root.pem')];
  const secret = async (subject = SUBJECT): Promise<CreatedSecret> => (await createCmpSecrets(f.ctx, f.ctx.fabric(), PASS, [{ site: '440100', profile: 'staff-auth', subject, identityCode: IDENTITY }]))[0]!;
  const key = (name: string, curve = 'prime256v1') => {
    const file = join(dir, name);
    spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', file]);
    return file;
  };
  const verify = (cert: string) => spawnSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), cert], { encoding: 'utf8' }).stdout;
  const text = (cert: string) => spawnSync('openssl', ['x509', '-in', cert, '-noout', '-text', '-nameopt', 'utf8,sep_comma_plus_space'], { encoding: 'utf8' }).stdout;

  beforeAll(async () => {
    f = await startFixture();
    dir = f.dir;
    writeFileSync(join(dir, 'root.pem'), f.rootPem);
  }, 60_000);
  afterAll(async () => f?.close());

  it('ir with a one-time secret (PBM): a staff certificate openssl verifies, with the GM/T 0015 identity code and the Chinese name', async () => {
    const s = await secret();
    const r = await run('openssl', ['cmp', '-cmd', 'ir', ...common(), '-ref', s.reference, '-secret', `pass:${s.secret}`, '-newkey', key('k1.pem'), '-subject', '/CN=张三/serialNumber=S0001', '-certout', join(dir, 'c1.pem'), '-extracertsout', join(dir, 'chain.pem')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('received PKICONF');
    expect(verify(join(dir, 'c1.pem'))).toContain(': OK');
    const t = text(join(dir, 'c1.pem'));
    expect(t).toContain('serialNumber=S0001, CN=张三');
    expect(t).toContain('Issuer: C=CN, O=Ministry of Human Resources and Social Security, OU=site 440000, CN=Jinbao Staff CA s440000');
    expect(t).toContain('TLS Web Client Authentication');
    expect(t).toContain(`1.2.156.10260.4.1.1:`);
    expect(t).toContain(IDENTITY);
    expect((await f.audit('cmp.ir')).map((e) => [e.outcome, e.actor])).toEqual([['ok', `cmp:${s.reference}`]]);
    expect((await f.audit('pki.issue')).some((e) => e.actor === `cmp:${s.reference}` && e.outcome === 'ok')).toBe(true);
  });

  it('p10cr with a one-time secret: the CSR\'s key is certified under the secret\'s subject', async () => {
    const s = await secret('CN=李四, serialNumber=S0002');
    const k = key('k2.pem');
    const csr = join(dir, 'k2.csr');
    spawnSync('openssl', ['req', '-new', '-key', k, '-subj', '/CN=李四/serialNumber=S0002', '-utf8', '-out', csr]);
    const r = await run('openssl', ['cmp', '-cmd', 'p10cr', ...common(), '-ref', s.reference, '-secret', `pass:${s.secret}`, '-csr', csr, '-certout', join(dir, 'c2.pem')]);
    expect(r.out).toContain('received PKICONF');
    expect(verify(join(dir, 'c2.pem'))).toContain(': OK');
    expect(text(join(dir, 'c2.pem'))).toContain('serialNumber=S0002, CN=李四');
  });

  it('cr signed by the current certificate: a second certificate for a new key, same holder', async () => {
    const r = await run('openssl', ['cmp', '-cmd', 'cr', ...common(), '-trusted', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), '-cert', join(dir, 'c1.pem'), '-key', join(dir, 'k1.pem'), '-newkey', key('k3.pem'), '-certout', join(dir, 'c3.pem')]);
    expect(r.out).toContain('received PKICONF');
    expect(verify(join(dir, 'c3.pem'))).toContain(': OK');
    expect(text(join(dir, 'c3.pem'))).toContain('serialNumber=S0001, CN=张三');
    expect((await f.audit('cmp.cr')).map((e) => e.outcome)).toEqual(['ok']);
  });

  it('kur: a new certificate for a new key, the old one revoked as superseded', async () => {
    const r = await run('openssl', ['cmp', '-cmd', 'kur', ...common(), '-trusted', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), '-cert', join(dir, 'c3.pem'), '-key', join(dir, 'k3.pem'), '-newkey', key('k4.pem'), '-certout', join(dir, 'c4.pem')]);
    expect(r.out).toContain('received PKICONF');
    expect(verify(join(dir, 'c4.pem'))).toContain(': OK');
    const old = await f.pki.findCertificate(serialOf(join(dir, 'c3.pem')));
    expect([old?.status, old?.revocationReason]).toEqual(['revoked', 'superseded']);
    expect((await f.audit('cmp.kur'))[0]?.actor).toContain('CN=张三');
  });

  it('rr: the holder revokes its own certificate', async () => {
    const r = await run('openssl', ['cmp', '-cmd', 'rr', ...common(), '-trusted', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), '-cert', join(dir, 'c4.pem'), '-key', join(dir, 'k4.pem'), '-oldcert', join(dir, 'c4.pem'), '-revreason', '1']);
    expect(r.out).toContain('received RP');
    const c = await f.pki.findCertificate(serialOf(join(dir, 'c4.pem')));
    expect([c?.status, c?.revocationReason]).toEqual(['revoked', 'keyCompromise']);
    expect((await f.audit('cmp.rr')).map((e) => e.outcome)).toEqual(['ok']);
  });
});
