import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { readAudit } from '../../lib/audit.js';
import { LocalOpsContext } from '../../orchestration/index.js';
import { freePort, smallInventory, tempDir, waitUntil } from '../../testkit/index.js';

const PASS = 'correct horse battery staple';
const env = { JINBAO_PKI_PASSPHRASE: PASS };

describe('jinbao cmp secret on the command line', () => {
  const { dir, cleanup } = tempDir('jinbao-cmp-cli-');
  const inventory = join(dir, 'inventory.json');
  const state = join(dir, 'state');
  const g = ['--state', state, '--inventory', inventory];
  const audit = async (action: string) => {
    const ctx = new LocalOpsContext({ stateDir: state, inventory });
    try {
      return await readAudit(await ctx.database(), { action });
    } finally {
      await ctx.close();
    }
  };
  beforeAll(async () => {
    writeFileSync(inventory, JSON.stringify(smallInventory()));
    expect((await runCli([...g, 'pki', 'init'], env)).code).toBe(0);
  });
  afterAll(() => cleanup());

  it('create prints the reference, the secret, its expiry and the CMP URL once; the store never holds the secret in clear; audited', async () => {
    const r = await runCli([...g, 'cmp', 'secret', 'create', '--site', '440100', '--subject', 'CN=张三, serialNumber=S0001', '--identity-code', '11010519491231002X', '--public-url', 'https://pki.jinbao.internal:8443', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { reference: string; secret: string; expiresAt: string; cmpUrl: string; profile: string };
    expect(s.reference).toMatch(/^440100-[0-9a-f]{12}$/);
    expect(s.secret.length).toBeGreaterThanOrEqual(24);
    expect(s.profile).toBe('staff-auth');
    expect(s.cmpUrl).toBe('https://pki.jinbao.internal:8443/cmp/440100');
    expect(Date.parse(s.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    // OpenSSL's slash form, the one the person then types for openssl cmp -subject, is kept in the comma form
    const slash = await runCli([...g, 'cmp', 'secret', 'create', '--site', '440100', '--subject', '/CN=王五/serialNumber=S0003', '--json'], env);
    expect(slash.code, slash.stderr).toBe(0);
    expect((JSON.parse(slash.stdout) as { subject: string }).subject).toBe('CN=王五, serialNumber=S0003');
    const human = await runCli([...g, 'cmp', 'secret', 'create', '--site', '440100', '--subject', 'CN=李四, serialNumber=S0002', '--days', '1'], env);
    expect(human.stdout).toMatch(/^reference  440100-/m);
    expect(human.stdout).toContain('CMP URL    https://127.0.0.1:8443/cmp/440100');
    expect(existsSync(join(state, 'jinbao.db'))).toBe(true);
    for (const file of ['jinbao.db', 'jinbao.db-wal']) if (existsSync(join(state, file))) expect(readFileSync(join(state, file)).includes(Buffer.from(s.secret))).toBe(false);
    const entries = await audit('cmp.secret.create');
    expect(entries.map((e) => e.subject)).toContain(s.reference);
    expect(JSON.stringify(entries)).not.toContain(s.secret);
  });

  it('list shows references and states, never the secret; revoke makes an unused secret unusable, audited; a second revoke is refused', async () => {
    const list = await runCli([...g, 'cmp', 'secret', 'list', '--json'], env);
    const secrets = (JSON.parse(list.stdout) as { secrets: { reference: string; state: string }[] }).secrets;
    expect(secrets.map((x) => x.state)).toEqual(['unused', 'unused', 'unused']);
    expect(list.stdout).not.toMatch(/"secret"/);
    const ref = secrets[0]!.reference;
    const r = await runCli([...g, 'cmp', 'secret', 'revoke', ref], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`revoked secret ${ref}`);
    expect((await audit('cmp.secret.revoke')).map((e) => e.subject)).toEqual([ref]);
    const again = await runCli([...g, 'cmp', 'secret', 'revoke', ref], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`secret ${ref} is revoked: only an unused secret can be revoked`);
    const table = await runCli([...g, 'cmp', 'secret', 'list'], env);
    expect(table.stdout).toMatch(/revoked/);
    expect(table.stdout).toMatch(/unused/);
  });

  it('bad input: exit 2, each problem named, nothing created', async () => {
    const cases: [string[], string][] = [
      [['--site', '999999', '--subject', 'CN=A, serialNumber=S0001'], 'site: got "999999", want a site of the inventory'],
      [['--site', '440100', '--subject', 'CN=A'], 'without serialNumber'],
      [['--site', '440100', '--subject', 'CN=A, serialNumber=S0001', '--profile', 'server-tls'], 'profile: got "server-tls", want staff-auth or staff-sign'],
      [['--site', '440100', '--subject', 'CN=A, serialNumber=S0001', '--identity-code', '123'], 'identity code: got "123"'],
      [['--site', '440100', '--subject', 'CN=A, serialNumber=S0001', '--days', '91'], '--days: got "91"'],
      [['--site', '440100'], '--subject: got none'],
      [['--site', '440100', '--subject', 'CN=A, serialNumber=S0001', '--out', join(dir, 'x.csv')], '--out: got it without --csv'],
    ];
    const before = (await audit('cmp.secret.create')).length;
    for (const [args, message] of cases) {
      const r = await runCli([...g, 'cmp', 'secret', 'create', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect((await audit('cmp.secret.create')).length).toBe(before);
    // the same refusals in Chinese under --lang zh-CN
    for (const [args, message] of [
      [['--site', '440100'], 'jinbao: --subject：没有给出，应为此人的主体名称'],
      [['--site', '440100', '--subject', 'CN=A, serialNumber=S0001', '--out', join(dir, 'x.csv')], 'jinbao: --out：只能与 --csv 一起使用（单个一次性口令直接打印）'],
      [['--csv', join(dir, 'missing.csv'), '--out', join(dir, 'y.csv')], `jinbao: --csv：无法读取 ${join(dir, 'missing.csv')}（ENOENT）`],
    ] as const) {
      const r = await runCli([...g, '--lang', 'zh-CN', 'cmp', 'secret', 'create', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.startsWith(message), r.stderr).toBe(true);
    }
  });

  it('--csv: one secret per person into a 0600 file, all or none', async () => {
    writeFileSync(join(dir, 'people.csv'), 'subject,identity_code\n"CN=王五, serialNumber=S0003",11010519491231002X\n"CN=赵六, serialNumber=S0004",\n');
    const out = join(dir, 'secrets.csv');
    const r = await runCli([...g, 'cmp', 'secret', 'create', '--site', '440100', '--csv', join(dir, 'people.csv'), '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('reference,secret,site,profile,subject,expires_at,cmp_url');
    expect(lines.slice(1).map((l) => l.split(',')[0]!.slice(0, 7))).toEqual(['440100-', '440100-']);
    expect(lines[1]).toContain('"CN=王五, serialNumber=S0003"');
    const exists = await runCli([...g, 'cmp', 'secret', 'create', '--site', '440100', '--csv', join(dir, 'people.csv'), '--out', out], env);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toContain('exists; refusing to overwrite');
    writeFileSync(join(dir, 'bad.csv'), 'subject,site\n"CN=A, serialNumber=S0005",440100\n"CN=B",999999\n');
    const before = (await audit('cmp.secret.create')).length;
    const bad = await runCli([...g, 'cmp', 'secret', 'create', '--csv', join(dir, 'bad.csv'), '--out', join(dir, 'bad-out.csv')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('row 2: site: got "999999"');
    expect(existsSync(join(dir, 'bad-out.csv'))).toBe(false);
    expect((await audit('cmp.secret.create')).length).toBe(before);
  });

  it('a jinbao serve process: openssl cmp ir with a secret from the command line; the secret is used once; SIGTERM stops it', async () => {
    const created = await runCli([...g, 'cmp', 'secret', 'create', '--site', '440100', '--subject', 'CN=孙七, serialNumber=S0007', '--json'], env);
    const s = JSON.parse(created.stdout) as { reference: string; secret: string };
    writeFileSync(join(dir, 'root.pem'), (await runCli([...g, 'pki', 'cas', '--pem', 'root'])).stdout);
    const port = await freePort();
    const serve: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bin/jinbao.ts', ...g, 'serve', '--listen', `127.0.0.1:${port}`], { cwd: resolve(import.meta.dirname, '../..'), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    serve.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    serve.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    try {
      await waitUntil(() => stdout.includes('listening on'), 'jinbao serve to listen', { timeoutMs: 60_000 });
      const key = join(dir, 'serve.key');
      spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', key]);
      const ir = (cert: string) => new Promise<string>((done) => execFile('openssl', ['cmp', '-cmd', 'ir', '-server', `127.0.0.1:${port}`, '-path', 'cmp/440100', '-tls_used', '-tls_trusted', join(dir, 'root.pem'), '-trusted', join(dir, 'root.pem'), '-ref', s.reference, '-secret', `pass:${s.secret}`, '-newkey', key, '-subject', '/CN=孙七/serialNumber=S0007', '-certout', join(dir, cert), '-extracertsout', join(dir, 'serve-chain.pem')], { timeout: 60_000 }, (_e, o, e) => done(o + e)));
      expect(await ir('serve.crt')).toContain('received PKICONF');
      const v = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'serve-chain.pem'), join(dir, 'serve.crt')], { encoding: 'utf8' });
      expect(v.stdout).toContain(': OK');
      expect(await ir('again.crt')).toContain('PKIFailureInfo: notAuthorized');
    } finally {
      serve.kill('SIGTERM');
      await waitUntil(() => serve.exitCode !== null, 'jinbao serve to stop', { timeoutMs: 20_000 });
    }
    expect(serve.exitCode).toBe(0);
    const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.path === '/cmp/440100').map((l) => [l.status, l.problem ?? null])).toEqual([[200, null], [200, null], [200, 'cmp:notAuthorized']]);
  }, 120_000);
});
