/**
 * The real CMP client against `jinbao serve`: `openssl cmp` enrolls a staff member's own key with a
 * one-time reference and secret (ir, p10cr), renews it signed by the current certificate (cr, kur)
 * and revokes it (rr), over TLS; openssl verifies every certificate and shows the staff profile's
 * GM/T 0015 extensions and the Chinese name.
 */
import { execFile, spawnSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
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

  it('ir with an SM2 key (proof of possession SM2-with-SM3): a staff certificate for the SM2 key', async () => {
    const s = await secret('CN=周八, serialNumber=S0008');
    const k = join(dir, 'sm2.pem');
    spawnSync('openssl', ['genpkey', '-algorithm', 'SM2', '-out', k]);
    const r = await run('openssl', ['cmp', '-cmd', 'ir', ...common(), '-ref', s.reference, '-secret', `pass:${s.secret}`, '-newkey', k, '-digest', 'sm3', '-subject', '/CN=周八/serialNumber=S0008', '-certout', join(dir, 'sm2.crt')]);
    expect(r.out).toContain('received PKICONF');
    expect(verify(join(dir, 'sm2.crt'))).toContain(': OK');
    const t = text(join(dir, 'sm2.crt'));
    expect(t).toContain('serialNumber=S0008, CN=周八');
    expect(t).toMatch(/ASN1 OID: SM2/);
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

  describe('refusals: a protected error with the right PKIFailureInfo, nothing issued, audited', () => {
    const refused = async (args: string[], failInfo: string, action = 'cmp.ir') => {
      const before = await f.certificates();
      const audited = (await f.audit(action)).filter((e) => e.outcome === 'refused').length;
      const r = await run('openssl', ['cmp', ...common(), '-trusted', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), ...args, ...(args[1] === 'genm' ? [] : ['-certout', join(dir, 'refused.crt')])]);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain('received ERROR');
      expect(r.out).toContain(`PKIFailureInfo: ${failInfo}`);
      expect(await f.certificates()).toBe(before);
      const after = (await f.audit(action)).filter((e) => e.outcome === 'refused');
      expect(after.length).toBe(audited + 1);
      expect(after.at(-1)!.details.failInfo).toBe(failInfo);
      return r.out;
    };

    it('a wrong secret: badMessageCheck, signed by the CA (the secret did not verify)', async () => {
      const s = await secret();
      const out = await refused(['-cmd', 'ir', '-ref', s.reference, '-secret', 'pass:not-the-secret', '-newkey', key('e1.pem'), '-subject', '/CN=张三/serialNumber=S0001'], 'badMessageCheck');
      expect(out).toContain('check the reference (-ref) and secret (-secret)');
    });

    it('an unknown reference: the same answer as a wrong secret', async () => {
      await refused(['-cmd', 'ir', '-ref', '440100-000000000000', '-secret', 'pass:whatever', '-newkey', key('e2.pem'), '-subject', '/CN=张三/serialNumber=S0001'], 'badMessageCheck');
    });

    it('a secret used twice: notAuthorized', async () => {
      const s = await secret();
      const first = await run('openssl', ['cmp', '-cmd', 'ir', ...common(), '-ref', s.reference, '-secret', `pass:${s.secret}`, '-newkey', key('e3.pem'), '-subject', '/CN=张三/serialNumber=S0001', '-certout', join(dir, 'e3.crt')]);
      expect(first.out).toContain('received PKICONF');
      const out = await refused(['-cmd', 'ir', '-ref', s.reference, '-secret', `pass:${s.secret}`, '-newkey', key('e4.pem'), '-subject', '/CN=张三/serialNumber=S0001'], 'notAuthorized');
      expect(out).toContain('already used');
    });

    it('an expired secret: notAuthorized', async () => {
      const [s] = await createCmpSecrets(f.ctx, f.ctx.fabric(), PASS, [{ site: '440100', profile: 'staff-auth', subject: SUBJECT, validityDays: 1 }], { now: new Date(Date.now() - 2 * 86_400_000) });
      const out = await refused(['-cmd', 'ir', '-ref', s!.reference, '-secret', `pass:${s!.secret}`, '-newkey', key('e5.pem'), '-subject', '/CN=张三/serialNumber=S0001'], 'notAuthorized');
      expect(out).toContain('expired');
    });

    it('a subject other than the secret\'s: badCertTemplate, and the secret stays usable', async () => {
      const s = await secret();
      const out = await refused(['-cmd', 'ir', '-ref', s.reference, '-secret', `pass:${s.secret}`, '-newkey', key('e6.pem'), '-subject', '/CN=王五/serialNumber=S0001'], 'badCertTemplate');
      expect(out).toContain('CN=王五');
      const again = await run('openssl', ['cmp', '-cmd', 'ir', ...common(), '-ref', s.reference, '-secret', `pass:${s.secret}`, '-newkey', key('e7.pem'), '-subject', '/CN=张三/serialNumber=S0001', '-certout', join(dir, 'e7.crt')]);
      expect(again.out).toContain('received PKICONF');
    });

    it('p10cr with a CSR for another subject than the secret\'s: badCertTemplate, nothing issued', async () => {
      const s = await secret();
      const k = key('e10.pem');
      spawnSync('openssl', ['req', '-new', '-key', k, '-subj', '/CN=王五/serialNumber=S0001', '-utf8', '-out', join(dir, 'e10.csr')]);
      const out = await refused(['-cmd', 'p10cr', '-ref', s.reference, '-secret', `pass:${s.secret}`, '-csr', join(dir, 'e10.csr')], 'badCertTemplate', 'cmp.p10cr');
      expect(out).toContain('CN=王五');
    });

    it('cr signed by a revoked certificate: certRevoked', async () => {
      await refused(['-cmd', 'cr', '-cert', join(dir, 'c4.pem'), '-key', join(dir, 'k4.pem'), '-newkey', key('e8.pem')], 'certRevoked', 'cmp.cr');
    });

    it('cr signed by a certificate this CA did not issue: signerNotTrusted', async () => {
      const k = key('foreign.key');
      spawnSync('openssl', ['req', '-x509', '-new', '-key', k, '-subj', '/CN=张三/serialNumber=S0001', '-utf8', '-days', '2', '-out', join(dir, 'foreign.crt')]);
      await refused(['-cmd', 'cr', '-cert', join(dir, 'foreign.crt'), '-key', k, '-newkey', key('e9.pem')], 'signerNotTrusted', 'cmp.cr');
    });

    it('an unsupported body type (genm): badRequest', async () => {
      const s = await secret();
      await refused(['-cmd', 'genm', '-ref', s.reference, '-secret', `pass:${s.secret}`], 'badRequest', 'cmp.request');
    });
  });
});

describe('the CMP rate limit per client address', () => {
  let f: Fixture;
  beforeAll(async () => {
    // 4 a minute: a burst of one, then one every 15 s
    f = await startFixture({ cmpPerAddressPerMinute: 4 });
    writeFileSync(join(f.dir, 'root.pem'), f.rootPem);
  }, 60_000);
  afterAll(async () => f?.close());

  const post = (body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: f.running.service.port, path: '/cmp/440100', method: 'POST', ca: f.rootPem, headers: { 'content-type': 'application/pkixcmp', 'content-length': body.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('latin1') }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('over the limit: HTTP 429 with Retry-After before the body is parsed, no signature and no audit entry; openssl cmp reports it', async () => {
    const key = join(f.dir, 'rl.pem');
    spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', key]);
    const common = ['-server', `127.0.0.1:${f.running.service.port}`, '-path', 'cmp/440100', '-tls_used', '-tls_trusted', join(f.dir, 'root.pem')];
    const s = (await createCmpSecrets(f.ctx, f.ctx.fabric(), PASS, [{ site: '440100', profile: 'staff-auth', subject: SUBJECT, identityCode: IDENTITY }]))[0]!;
    // the one token: a wrong secret, answered by the CMP server (refused, signed, audited)
    const first = await run('openssl', ['cmp', '-cmd', 'ir', ...common, '-ref', s.reference, '-secret', 'pass:wrong', '-newkey', key, '-subject', '/CN=张三/serialNumber=S0001', '-certout', join(f.dir, 'rl0.crt')]);
    expect(first.out).toContain('received ERROR');
    const refusedBefore = (await f.audit('cmp.ir')).length;
    // the next one, even with the right secret, is refused at the HTTP level
    const second = await run('openssl', ['cmp', '-cmd', 'ir', ...common, '-ref', s.reference, '-secret', `pass:${s.secret}`, '-newkey', key, '-subject', '/CN=张三/serialNumber=S0001', '-certout', join(f.dir, 'rl.crt')]);
    expect(second.code).not.toBe(0);
    expect(second.out).toMatch(/429/);
    const raw = await post(Buffer.from('not a PKIMessage'));
    expect(raw.status).toBe(429);
    expect(Number(raw.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(raw.headers['retry-after'])).toBeLessThanOrEqual(15);
    expect(raw.text).toContain('too many CMP requests from 127.0.0.1: the limit is 4 a minute');
    expect((await f.audit('cmp.ir')).length).toBe(refusedBefore);
    expect((await f.audit('cmp.request')).length).toBe(0);
    expect(f.log.filter((l) => l.problem === 'cmp:rate-limited')).toHaveLength(2);
    // the secret was not spent: it still enrolls once a token is back (not waited for here)
    expect(await f.certificates()).toBeGreaterThan(0);
  }, 60_000);
});
