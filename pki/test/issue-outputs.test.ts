import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { InputError } from '../../lib/errors.js';
import { buildPkcs12, fileDelivery, Issuer, MIN_PKCS12_PASSWORD_LENGTH } from '../index.js';
import { openDatabase } from '../../lib/sql/index.js';
import { countRows, inventoryFile, lastAudit, openssl, opensslCsr, opensslKey, PASS, testPki, type TestPki } from './helpers.js';

/**
 * What `pki issue` writes: nothing is recorded unless its files (the generated key above all) can
 * be written, and no file is left behind for a certificate that was not recorded.
 */

describe('pki issue writes its outputs before the certificate is recorded', () => {
  let dir: string;
  let inv: string;
  const env = { JINBAO_PKI_PASSPHRASE: PASS, JINBAO_P12_PASSPHRASE: 'a bundle passphrase' };
  const cli = (args: string[], e: Record<string, string> = env) => runCli(['--inventory', inv, '--state', join(dir, 'state'), ...args], e);
  const certificates = async () => (JSON.parse((await cli(['pki', 'list', '--json'])).stdout) as { certificates: unknown[] }).certificates.length;
  const server = ['pki', 'issue', '--profile', 'server-tls', '--site', '440100', '--generate', '--subject', 'CN=yl.s440100.jinbao.internal'];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jinbao-pki-outputs-'));
    inv = inventoryFile(dir);
    expect((await cli(['pki', 'init'])).code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN an --out that cannot be created WHEN a key is generated THEN nothing is issued, exit 2 names the directory, and the refusal is audited', async () => {
    const before = await certificates();
    const r = await cli([...server, '--out', '/dev/null/certs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('output directory /dev/null/certs: cannot create it (ENOTDIR)');
    expect(r.stderr).toContain('nothing was issued');
    expect(await certificates()).toBe(before);
    const db = await openDatabase(join(dir, 'state'));
    try {
      const audit = await lastAudit(db);
      expect(audit).toMatchObject({ action: 'pki.issue', outcome: 'refused' });
      expect(JSON.parse(audit.details).reason).toContain('output directory /dev/null/certs');
    } finally {
      await db.close();
    }
  });

  it('GIVEN a one-character PKCS#12 password THEN it is refused before anything is issued, with the minimum', async () => {
    const before = await certificates();
    const out = join(dir, 'short-p12');
    const r = await cli([...server, '--p12', '--out', out], { ...env, JINBAO_P12_PASSPHRASE: 'x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`PKCS#12 password too short: got 1 characters, want at least ${MIN_PKCS12_PASSWORD_LENGTH}`);
    expect(await certificates()).toBe(before);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('GIVEN a long enough PKCS#12 password THEN key, certificate, chain and bundle are written and the key is private', async () => {
    const out = join(dir, 'good');
    const r = await cli([...server, '--p12', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { certificate, files } = JSON.parse(r.stdout) as { certificate: { serial: string }; files: Record<string, string> };
    expect(Object.keys(files).sort()).toEqual(['certificate', 'chain', 'key', 'p12']);
    expect(readdirSync(out).sort()).toEqual([`${certificate.serial}.chain.pem`, `${certificate.serial}.crt.pem`, `${certificate.serial}.key.pem`, `${certificate.serial}.p12`]);
    expect(statSync(files.key!).mode & 0o777).toBe(0o600);
    expect(openssl(['pkcs12', '-info', '-in', files.p12!, '-passin', 'pass:a bundle passphrase', '-nodes']).code).toBe(0);
  });

  it('WHEN buildPkcs12 is given a password shorter than the minimum THEN it refuses with the length', () => {
    expect(MIN_PKCS12_PASSWORD_LENGTH).toBe(12);
    let err: unknown;
    try {
      buildPkcs12({ privateKeyPem: '', certificates: [], password: 'eleven char' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe('PKCS#12 password too short: got 11 characters, want at least 12; choose a longer one (it protects the private key in the bundle)');
  });
});

describe('an issuance whose commit fails leaves no files', () => {
  let t: TestPki;
  beforeAll(async () => {
    t = await testPki('ecdsa-p256');
  });
  afterAll(() => t.cleanup());

  it('GIVEN the store refuses every serial WHEN a key is generated THEN the staged files are removed and nothing is recorded', async () => {
    const first = await t.issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=a.s440100.jinbao.internal' } });
    const clash = new Issuer(t.pki, t.fabric, PASS, { newSerial: () => first.record.serial });
    const out = join(t.dir, 'clash');
    const before = (await countRows(t.db));
    await expect(clash.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=b.s440100.jinbao.internal' } }, fileDelivery({ dir: out }))).rejects.toThrow();
    expect((await countRows(t.db)).certificates).toBe(before.certificates);
    expect(readdirSync(out)).toEqual([]);
  });

  it('GIVEN a file in the way of a staged output THEN nothing is recorded, the refusal names the file, and what was staged is removed', async () => {
    const serial = '4f00000000000000000000000000beef';
    const fixed = new Issuer(t.pki, t.fabric, PASS, { newSerial: () => serial });
    const out = join(t.dir, 'blocked');
    mkdirSync(out);
    const blocker = join(out, `${serial}.chain.pem.partial-${process.pid}`);
    writeFileSync(blocker, 'in the way');
    const before = (await countRows(t.db));
    const err = await fixed.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=d.s440100.jinbao.internal' } }, fileDelivery({ dir: out })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(`output directory ${out}: cannot write ${blocker} (EEXIST); want a directory you can write to with free space (--out DIR); nothing was issued`);
    expect((await countRows(t.db))).toEqual({ ...before, audit: before.audit + 1 });
    expect(readdirSync(out)).toEqual([`${serial}.chain.pem.partial-${process.pid}`]);
  });

  it('GIVEN a bundle password but no private key THEN the delivery refuses before the commit', async () => {
    const csr = opensslCsr(t.dir, opensslKey(t.dir, 'holder', 'p256'), '/CN=e.s440100.jinbao.internal', { name: 'holder' });
    const before = (await countRows(t.db));
    const err = await t.issuer.issue({ profile: 'server-tls', site: '440100', csr }, fileDelivery({ dir: join(t.dir, 'nokey'), p12Password: 'a bundle passphrase' })).catch((e: unknown) => e);
    expect((err as Error).message).toBe("PKCS#12 bundle: got no private key, want a generated key or the holder's key (--key FILE) so the bundle can carry it; nothing was issued");
    expect((await countRows(t.db)).certificates).toBe(before.certificates);
  });

  it('GIVEN a writable directory THEN the delivery names the files it wrote', async () => {
    const out = join(t.dir, 'ok');
    const issued = await t.issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=c.s440100.jinbao.internal' } }, fileDelivery({ dir: out }));
    const s = issued.record.serial;
    expect(issued.files).toEqual({ certificate: join(out, `${s}.crt.pem`), chain: join(out, `${s}.chain.pem`), key: join(out, `${s}.key.pem`) });
    expect(readdirSync(out).sort()).toEqual([`${s}.chain.pem`, `${s}.crt.pem`, `${s}.key.pem`]);
  });
});
