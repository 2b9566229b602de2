import { existsSync, readFileSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { inventoryFile, openssl, opensslCsr, opensslKey, PASS } from './helpers.js';
import Database from 'better-sqlite3';

describe('jinbao pki and audit commands', () => {
  let dir: string;
  let inv: string;
  const env = { JINBAO_PKI_PASSPHRASE: PASS, JINBAO_P12_PASSPHRASE: 'bundle-passphrase' };
  const cli = (args: string[], e: Record<string, string> = env) => runCli(['--inventory', inv, '--state', join(dir, 'state'), ...args], e);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jinbao-pki-cli-'));
    inv = inventoryFile(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN no passphrase and no terminal WHEN init runs THEN it is refused and says which variable to set', async () => {
    const r = await cli(['pki', 'init'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no passphrase for the CA keys: got no JINBAO_PKI_PASSPHRASE in the environment and no terminal to prompt on, want JINBAO_PKI_PASSPHRASE set');
  });

  it('GIVEN a short passphrase or an unknown algorithm WHEN init runs THEN each is refused', async () => {
    const short = await cli(['pki', 'init', '--passphrase-env', 'MY_PASS'], { MY_PASS: 'short' });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('passphrase too short: got 5 characters, want at least 12');
    const alg = await cli(['pki', 'init', '--algorithm', 'ed25519']);
    expect(alg.code).toBe(2);
    expect(alg.stderr).toContain('unknown algorithm: got "ed25519", want one of ecdsa-p256, ecdsa-p384, rsa-3072, sm2');
  });

  it('WHEN init runs THEN root, ministry staff and infrastructure CAs exist with encrypted keys', async () => {
    const r = await cli(['pki', 'init', '--algorithm', 'ecdsa-p256', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).cas.map((c: { id: string }) => c.id)).toEqual(['root', 'ministry-staff', 'infrastructure']);
    expect(r.stderr).toBe('');
    // The key is in the store, encrypted; OpenSSL reads it with the passphrase (recovery without jinbao).
    const store = new Database(join(dir, 'state', 'jinbao.db'), { readonly: true });
    const key = (store.prepare("SELECT pem FROM pki_keys WHERE ref = 'root.key.pem'").get() as { pem: string }).pem;
    store.close();
    expect(key).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    expect(openssl(['pkey', '-passin', `pass:${PASS}`, '-noout'], key).code).toBe(0);
    expect(openssl(['pkey', '-passin', 'pass:not the passphrase', '-noout'], key).code).not.toBe(0);
    const again = await cli(['pki', 'init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('the CA hierarchy exists already');
  });

  it('WHEN a server certificate is issued with --generate --p12 THEN certificate, chain, key and bundle are written', async () => {
    const out = join(dir, 'out-server');
    const r = await cli(['pki', 'issue', '--profile', 'server-tls', '--site', '440100', '--generate', '--subject', 'CN=yl.s440100.jinbao.internal', '--application', 'employee-insurance', '--out', out, '--p12', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { certificate, files } = JSON.parse(r.stdout);
    expect(certificate).toMatchObject({ profile: 'server-tls', site: '440100', ca: 'infrastructure', application: 'employee-insurance', sans: ['DNS:yl.s440100.jinbao.internal'] });
    for (const f of Object.values(files) as string[]) expect(existsSync(f)).toBe(true);
    expect(openssl(['verify', '-CAfile', files.chain, files.certificate]).code).toBe(0);
    const p12 = openssl(['pkcs12', '-info', '-in', files.p12, '-passin', 'pass:bundle-passphrase', '-nodes']);
    expect(p12.code).toBe(0);
    expect(p12.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
  });

  it('WHEN a staff CSR is issued THEN the certificate is written and listed for its site', async () => {
    const key = opensslKey(dir, 'staff', 'p256');
    writeFileSync(join(dir, 'staff.csr'), opensslCsr(dir, key, '/CN=张三/serialNumber=S0001'));
    const r = await cli(['pki', 'issue', '--profile', 'staff-auth', '--site', '440300', '--csr', join(dir, 'staff.csr'), '--out', join(dir, 'out-staff'), '--days', '20']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^issued staff-auth certificate [0-9a-f]{32} for "C=CN, O=site 440300人力资源和社会保障局, serialNumber=S0001, CN=张三" by province-440000-staff/);
    const list = JSON.parse((await cli(['pki', 'list', '--site', '440300', '--json'])).stdout);
    expect(list.certificates).toHaveLength(1);
    expect(list.certificates[0]).toMatchObject({ profile: 'staff-auth', staffNumber: 'S0001', status: 'active' });
    const expiring = JSON.parse((await cli(['pki', 'list', '--expiring', '30d', '--json'])).stdout);
    expect(expiring.certificates.map((c: { site: string }) => c.site)).toEqual(['440300']);
    const table = await cli(['pki', 'list']);
    expect(table.stdout).toMatch(/^serial +profile +site +subject +not after +status\n/);
    expect(table.stdout).toContain('张三');
  });

  it('GIVEN a refused request WHEN issued from the CLI THEN exit code 2 and the reason on stderr', async () => {
    const r = await cli(['pki', 'issue', '--profile', 'staff-auth', '--site', '440300', '--csr', join(dir, 'staff.csr'), '--days', '900', '--out', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: request refused: validity: got 900 days, want at most 730 (profile staff-auth v1)\n');
    const p12 = await cli(['pki', 'issue', '--profile', 'staff-auth', '--site', '440300', '--csr', join(dir, 'staff.csr'), '--p12']);
    expect(p12.stderr).toContain("--p12: got a CSR without its private key, want --generate or --key FILE");
    const subj = await cli(['pki', 'issue', '--profile', 'server-tls', '--site', '440300', '--generate']);
    expect(subj.stderr).toContain('--generate: got no --subject, want one such as --subject "CN=pg.440100.jinbao.internal"');
    const exp = await cli(['pki', 'list', '--expiring', 'soon']);
    expect(exp.code).toBe(2);
    expect(exp.stderr).toContain('--expiring: got "soon", want a number of days such as 30d');
  });

  it('WHEN show runs THEN one certificate prints; an unknown serial is refused', async () => {
    const serial = JSON.parse((await cli(['pki', 'list', '--json'])).stdout).certificates[0].serial as string;
    const r = await cli(['pki', 'show', serial]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`serial           ${serial}`);
    const pem = await cli(['pki', 'show', serial.toUpperCase(), '--pem']);
    expect(pem.stdout).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const unknown = await cli(['pki', 'show', 'abcd']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown serial: got "abcd"');
  });

  it('WHEN kpi runs THEN staff certificates come from the PKI, and the hand-issued application certificate does not count for MLPS-3 applications (only the service\'s do)', async () => {
    const r = await cli(['kpi', '--json']);
    const byId = Object.fromEntries(JSON.parse(r.stdout).indicators.map((i: { id: string }) => [i.id, i]));
    expect(byId['staff-certificates']).toMatchObject({ status: 'not-met', numerator: 1, denominator: 500, source: 'pki' });
    expect(byId['mlps3-certificates']).toMatchObject({ numerator: 0, source: 'pki' });
  });

  it('WHEN audit verify runs on an intact log THEN it passes; after tampering it names the entry and exits 3', async () => {
    const ok = await cli(['audit', 'verify']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^audit log intact: \d+ entries, head [0-9a-f]{64}\n$/);
    const exported = join(dir, 'audit.jsonl');
    expect((await cli(['audit', 'export', '--out', exported])).code).toBe(0);
    const lines = readFileSync(exported, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((e) => e.action === 'pki.issue' && e.outcome === 'refused')).toBe(true);
    const store = new Database(join(dir, 'state', 'jinbao.db'));
    // an owner of the database (not jinbao) drops the insert-only triggers first
    store.exec('DROP TRIGGER audit_log_no_update');
    store.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2").run();
    store.close();
    const broken = await cli(['audit', 'verify']);
    expect(broken.code).toBe(3);
    expect(broken.stderr).toContain("jinbao: the audit log's hash chain is broken at entry 2: its content hashes to");
    expect(broken.stdout).toMatch(/^audit log BROKEN at entry 2: its content hashes to [0-9a-f]{12}…, want the recorded [0-9a-f]{12}…: the entry was altered\n$/);
    // in Chinese, the reason too
    const zh = await cli(['--lang', 'zh-CN', 'audit', 'verify']);
    expect(zh.code).toBe(3);
    expect(zh.stdout).toMatch(/^审计记录在第 2 条处断裂：其内容的哈希为 [0-9a-f]{12}…，应为记录的 [0-9a-f]{12}…：该条目已被篡改\n$/);
    expect(zh.stderr).toMatch(/的哈希链在第 2 条处断裂：其内容的哈希为 [0-9a-f]{12}…，应为记录的 [0-9a-f]{12}…：该条目已被篡改；/);
    const status = await cli(['--lang', 'zh-CN', 'state', 'status']);
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(/\n审计记录：在第 2 条处断裂：其内容的哈希为 [0-9a-f]{12}…，应为记录的 [0-9a-f]{12}…：该条目已被篡改\n$/);
    expect(JSON.parse((await cli(['state', 'status', '--json'])).stdout).audit.firstBroken).toEqual({ seq: 2, reason: expect.stringMatching(/: the entry was altered$/) });
    const verified = JSON.parse((await cli(['audit', 'verify', '--json'])).stdout);
    expect(verified.firstBroken).toEqual({ seq: 2, reason: expect.stringMatching(/: the entry was altered$/) });
    const json = JSON.parse((await cli(['audit', 'export', '--format', 'json'])).stdout);
    expect(json.chain).toMatchObject({ intact: false, firstBroken: { seq: 2 } });
    expect(Object.keys(json.chain.firstBroken).sort()).toEqual(['reason', 'seq']);
  });
});
