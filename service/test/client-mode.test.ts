/**
 * A small organisation against a real `jinbao serve`: operators act through the real CLI in client
 * mode (`--server --identity`), authenticated by their operator certificates over mutual TLS; every
 * allowed and refused path is checked, and the audit log names the operator.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { freePort, smallInventory, tempDir, waitUntil } from '../../testkit/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PASS = 'correct horse battery staple';

interface Person {
  id: string;
  p12: string;
  password: string;
  serial: string;
}

describe('operators in client mode against jinbao serve (mutual TLS, roles, scopes)', () => {
  const { dir, cleanup } = tempDir('jinbao-client-mode-');
  const state = join(dir, 'state');
  const inventory = join(dir, 'inventory.json');
  const g = ['--state', state, '--inventory', inventory];
  const env = { JINBAO_PKI_PASSPHRASE: PASS };
  let serve: ChildProcess | undefined;
  let port: number;
  const people: Record<string, Person> = {};

  const add = async (key: string, name: string, staffNumber: string, role: string, extra: string[] = []) => {
    const r = await runCli([...g, 'operator', 'add', '--name', name, '--staff-number', staffNumber, '--role', role, '--out', join(dir, 'ops'), '--json', ...extra], env);
    expect(r.code).toBe(0);
    const a = JSON.parse(r.stdout) as { operator: { id: string; certificateSerial: string }; files: { p12: string; password: string } };
    people[key] = { id: a.operator.id, p12: a.files.p12, password: readFileSync(a.files.password, 'utf8').trim(), serial: a.operator.certificateSerial };
  };
  const as = (key: string, args: string[], lang: string[] = []) =>
    runCli([...lang, '--server', `https://127.0.0.1:${port}`, '--identity', people[key]!.p12, ...args], { JINBAO_IDENTITY_PASSPHRASE: people[key]!.password });

  beforeAll(async () => {
    writeFileSync(inventory, JSON.stringify(smallInventory()));
    expect((await runCli([...g, 'pki', 'init'], env)).code).toBe(0);
    await add('security', '张伟', '100234', 'security-admin');
    await add('gd', '李娜', '440017', 'security-admin', ['--scope', '440000']);
    await add('audit', '刘敏', '100377', 'audit-admin');
    await add('system', '王强', '100101', 'system-admin');
    await add('viewer', '赵六', '100555', 'viewer');
    port = await freePort();
    serve = spawn(process.execPath, ['--import', 'tsx', 'bin/jinbao.ts', ...g, 'serve', '--listen', `127.0.0.1:${port}`], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    serve.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    await waitUntil(() => stdout.includes('listening on'), 'jinbao serve to listen', { timeoutMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      serve.kill('SIGTERM');
      await waitUntil(() => serve!.exitCode !== null, 'jinbao serve to stop', { timeoutMs: 20_000 });
    }
    cleanup();
  });

  it('GIVEN the national security administrator THEN the service runs their command, and the audit log names them as the actor', async () => {
    const r = await as('security', ['acme', 'eab', 'create', '--site', '110000', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ site: '110000' });
    const log = (await runCli([...g, 'audit', 'export', '--action', 'acme.eab'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { actor: string });
    expect(log.at(-1)!.actor).toMatch(new RegExp(`^operator:${people.security!.id} security-admin \\(.*CN=张伟.*certificate ${people.security!.serial}\\)$`));
  });

  it('GIVEN the Guangdong security administrator THEN a Guangdong site is allowed, another province and a command without a site are refused and audited', async () => {
    expect((await as('gd', ['acme', 'eab', 'create', '--site', '440100', '--json'])).code).toBe(0);
    const other = await as('gd', ['acme', 'eab', 'create', '--site', '110000']);
    expect(other.code).toBe(2);
    expect(other.stderr).toBe(`jinbao: operator ${people.gd!.id} acts on province 440000 only, got --site 110000\n`);
    const noSite = await as('gd', ['pki', 'list']);
    expect(noSite.stderr).toContain('acts on province 440000 only: give --site');
    const zh = await as('gd', ['acme', 'eab', 'create', '--site', '110000'], ['--lang', 'zh-CN']);
    expect(zh.stderr).toContain(`操作员 ${people.gd!.id} 只负责省份 440000，收到 --site 110000`);
  });

  it('GIVEN the audit administrator THEN issuing a certificate is refused (least privilege) while exporting the audit log works and shows who was refused', async () => {
    const issue = await as('audit', ['pki', 'revoke', '--serial', people.viewer!.serial, '--reason', 'keyCompromise']);
    expect(issue.code).toBe(2);
    expect(issue.stderr).toContain(`operator ${people.audit!.id} is audit-admin: "pki revoke" is not among what that role may do through the service`);
    const exported = await as('audit', ['audit', 'export', '--action', 'serve.admin']);
    expect(exported.code).toBe(0);
    const refusals = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as { outcome: string; actor: string; subject: string });
    expect(refusals.every((e) => e.outcome === 'refused')).toBe(true);
    expect(refusals.map((e) => e.actor.split(' ')[0])).toContain(`operator:${people.audit!.id}`);
    expect(refusals.map((e) => e.subject)).toContain('pki revoke');
  });

  it('GIVEN a service not started sealed THEN seal is refused (no custodians could reopen it) and audited; a dual-controlled command waits (exit 5)', async () => {
    const r = await as('security', ['seal']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('this service did not start with --sealed: it cannot be sealed');
    const pending = await as('security', ['pki', 'revoke', '--ca', 'ministry-staff', '--reason', 'cACompromise']);
    expect(pending.code).toBe(5);
    expect(pending.stdout).toMatch(/^pending approval \d+: "pki revoke" runs once 1 other security-admin approve\(s\) it/);
    expect((await as('viewer', ['approvals', 'policy', '--approvers', '2'])).stderr).toContain('"approvals policy" is proposed and approved by security-admin operators only');
  });

  it('GIVEN options naming the service\'s state or local files THEN they are refused', async () => {
    const r = await as('security', ['pki', 'list', '--out', '/tmp/x']);
    expect(r.stderr).toContain('--out is not available through the service');
    expect((await as('security', ['--state', '/tmp/other', 'pki', 'list'])).stderr).toContain('--state is not available through the service');
  });

  it('GIVEN a suspended operator, a revoked operator certificate, or a certificate from outside the hierarchy THEN each is refused', async () => {
    await runCli([...g, 'operator', 'suspend', people.system!.id]);
    expect((await as('system', ['ipam', '--site', '440100'])).stderr).toContain(`operator ${people.system!.id} (system-admin) is suspended: it acts on nothing`);
    expect((await runCli([...g, 'pki', 'revoke', '--serial', people.viewer!.serial, '--reason', 'keyCompromise'], env)).code).toBe(0);
    expect((await as('viewer', ['kpi'])).stderr).toContain(`the client certificate (serial ${people.viewer!.serial}) is revoked`);
    const key = join(dir, 'foreign.key');
    const crt = join(dir, 'foreign.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=张伟/serialNumber=100234', '-days', '1'], { stdio: 'ignore' });
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', key, '-in', crt, '-out', join(dir, 'foreign.p12'), '-passout', 'pass:foreign-password'], { stdio: 'ignore' });
    const foreign = await runCli(['--server', `https://127.0.0.1:${port}`, '--identity', join(dir, 'foreign.p12'), '--server-ca', join(dir, 'ops', `${people.security!.serial}.chain.pem`), 'kpi'], { JINBAO_IDENTITY_PASSPHRASE: 'foreign-password' });
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('a client certificate from the jinbao hierarchy is required');
  });
});
