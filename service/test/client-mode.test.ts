/**
 * A small organisation against a real `jinbao serve`: operators act through the real CLI in client
 * mode (`--server --identity`), authenticated by their operator certificates over mutual TLS; every
 * allowed and refused path is checked, and the audit log names the operator.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { waitUntil } from '../../testkit/index.js';
import { testbed } from './organisation-kit.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('operators in client mode against jinbao serve (mutual TLS, roles, scopes)', () => {
  const bed = testbed('jinbao-client-mode-');
  const { dir, g, env, people } = bed;
  const add = async (key: string, name: string, staffNumber: string, role: string, extra: string[] = []) => {
    const person = await bed.add(key, name, staffNumber, role, extra);
    expect(statSync(person.loginFile).mode & 0o777).toBe(0o600);
  };
  const sessions = join(dir, 'config');
  /** As the operator, with the service password in the environment (or `password`; null: none, a session if one is kept). */
  const as = (key: string, args: string[], lang: string[] = [], password: string | null = people[key]!.login) =>
    runCli([...lang, '--server', `${bed.url()}`, '--identity', people[key]!.p12, ...args], {
      JINBAO_IDENTITY_PASSPHRASE: people[key]!.password,
      XDG_CONFIG_HOME: sessions,
      ...(password !== null ? { JINBAO_OPERATOR_PASSWORD: password } : {}),
    });
  const auditOf = async (action: string) =>
    (await runCli([...g, 'audit', 'export', '--action', action])).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { action: string; outcome: string; actor: string; subject: string; details: Record<string, unknown> });

  beforeAll(async () => {
    await bed.init();
    await add('security', '张伟', '100234', 'security-admin');
    await add('gd', '李娜', '440017', 'security-admin', ['--scope', '440000']);
    await add('audit', '刘敏', '100377', 'audit-admin');
    await add('system', '王强', '100101', 'system-admin');
    await add('viewer', '赵六', '100555', 'viewer');
    await add('dr', '孙丽', '100666', 'dr-coordinator');
    await add('drill2', '周杰', '100777', 'dr-coordinator');
    await bed.start(['--listen', `127.0.0.1:${bed.port}`, '--max-failed-logins', '3', '--session-timeout', '4s'], 'listening on');
  }, 120_000);

  afterAll(async () => {
    await bed.stop();
    bed.cleanup();
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
    expect((await as('system', ['login'])).stderr).toContain(`operator ${people.system!.id} (system-admin) is suspended: it acts on nothing`);
    expect((await runCli([...g, 'pki', 'revoke', '--serial', people.viewer!.serial, '--reason', 'keyCompromise'], env)).code).toBe(0);
    expect((await as('viewer', ['kpi'])).stderr).toContain(`the client certificate (serial ${people.viewer!.serial}) is revoked`);
    const key = join(dir, 'foreign.key');
    const crt = join(dir, 'foreign.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=张伟/serialNumber=100234', '-days', '1'], { stdio: 'ignore' });
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', key, '-in', crt, '-out', join(dir, 'foreign.p12'), '-passout', 'pass:foreign-password'], { stdio: 'ignore' });
    const foreign = await runCli(['--server', `${bed.url()}`, '--identity', join(dir, 'foreign.p12'), '--server-ca', join(dir, 'ops', `${people.security!.serial}.chain.pem`), 'kpi'], { JINBAO_IDENTITY_PASSPHRASE: 'foreign-password' });
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('a client certificate from the jinbao hierarchy is required');
  });

  it('GIVEN no password and no session THEN the command is refused with how to log in, nothing runs, and the refusal is audited', async () => {
    const r = await as('security', ['acme', 'eab', 'create', '--site', '110000'], [], null);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`jinbao: operator ${people.security!.id}: the service wants your password as well as your certificate: run jinbao login (from a terminal), or set JINBAO_OPERATOR_PASSWORD\n`);
    const zh = await as('security', ['pki', 'list'], ['--lang', 'zh-CN'], null);
    expect(zh.stderr).toContain('服务除证书外还需要您的口令');
    const refused = (await auditOf('serve.auth')).filter((e) => e.outcome === 'refused' && e.subject === people.security!.id);
    expect(refused.at(-1)!.details).toMatchObject({ command: 'pki list', remote: '127.0.0.1', certificate: people.security!.serial });
    expect(refused.at(-1)!.actor).toContain(`operator:${people.security!.id} security-admin`);
  });

  it('GIVEN wrong passwords THEN each is counted, the third locks the operator (refused even with the right one, audited), and a security administrator unlocks them through the service', async () => {
    const eabBefore = (await auditOf('acme.eab')).length;
    const first = await as('dr', ['drill', 'list'], [], 'not the password');
    expect(first.code).toBe(2);
    expect(first.stderr).toBe(`jinbao: wrong password for operator ${people.dr!.id}: 2 attempt(s) left before the operator is locked\n`);
    const zh = await as('dr', ['drill', 'list'], ['--lang', 'zh-CN'], 'still not it');
    expect(zh.stderr).toBe(`jinbao: 操作员 ${people.dr!.id} 的口令错误：再失败 1 次将被锁定\n`);
    const third = await as('dr', ['drill', 'list'], [], 'wrong again');
    expect(third.stderr).toBe(`jinbao: wrong password: operator ${people.dr!.id} is now locked after 3 consecutive failures; a security administrator must run jinbao operator unlock ${people.dr!.id}\n`);
    const right = await as('dr', ['drill', 'list']);
    expect(right.code).toBe(2);
    expect(right.stderr).toMatch(new RegExp(`^jinbao: operator ${people.dr!.id} is locked since \\S+ after too many wrong passwords: refused even with the right one until a security administrator runs jinbao operator unlock ${people.dr!.id}\\n$`));
    const counted = (await auditOf('serve.auth')).filter((e) => e.subject === people.dr!.id && e.outcome === 'refused');
    expect(counted.map((e) => e.details.failedLogins)).toEqual([1, 2, 3, undefined]);
    const lock = (await auditOf('operator.lock')).filter((e) => e.subject === people.dr!.id);
    expect(lock).toHaveLength(1);
    expect(lock[0]!.details).toMatchObject({ failedLogins: 3, remote: '127.0.0.1' });
    expect((await auditOf('acme.eab')).length).toBe(eabBefore);

    expect((await as('security', ['operator', 'show', people.dr!.id])).stdout).toContain(`${people.dr!.id}: LOCKED since `);
    const shown = JSON.parse((await as('audit', ['operator', 'show', people.dr!.id, '--json'])).stdout) as { operators: { login: { failedLogins: number; lockedAt: string | null; passwordSet: boolean } }[] };
    expect(shown.operators[0]!.login).toMatchObject({ passwordSet: true, failedLogins: 3 });
    // the audit administrator may not unlock; the security administrator may
    expect((await as('audit', ['operator', 'unlock', people.dr!.id])).stderr).toContain('"operator unlock" is not among what that role may do');
    const unlock = await as('security', ['operator', 'unlock', people.dr!.id]);
    expect(unlock.stderr).toBe('');
    expect(unlock.stdout).toMatch(new RegExp(`^operator ${people.dr!.id} \\(孙丽, dr-coordinator\\) unlocked: 3 failed login\\(s\\) cleared`));
    expect((await auditOf('operator.unlock')).at(-1)!.actor).toContain(`operator:${people.security!.id}`);
    expect((await as('dr', ['drill', 'list'])).code).toBe(0);
    const again = await as('security', ['operator', 'unlock', people.dr!.id]);
    expect(again.stderr).toBe(`jinbao: operator ${people.dr!.id} is not locked (0 failed login(s) counted): nothing to unlock\n`);
    expect((await auditOf('operator.unlock')).at(-1)).toMatchObject({ outcome: 'refused' });
  });

  it('GIVEN one wrong password then the right one THEN the count starts again', async () => {
    expect((await as('drill2', ['drill', 'list'], [], 'typo')).stderr).toContain('2 attempt(s) left');
    expect((await as('drill2', ['drill', 'list'])).code).toBe(0);
    expect((await as('drill2', ['drill', 'list'], [], 'typo')).stderr).toContain('2 attempt(s) left');
    expect((await as('drill2', ['drill', 'list'])).code).toBe(0);
  });

  it('GIVEN jinbao login THEN commands run without the password, logout ends the session, and both are audited', async () => {
    const login = await as('drill2', ['login']);
    expect(login.stderr).toBe('');
    expect(login.stdout).toMatch(new RegExp(`^logged in as ${people.drill2!.id} \\(dr-coordinator\\); the session ends after 4 s unused`));
    const [file] = readdirSync(join(sessions, 'jinbao', 'sessions'));
    const kept = join(sessions, 'jinbao', 'sessions', file!);
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    expect((await as('drill2', ['drill', 'list', '--json'], [], null)).code).toBe(0);
    // the token alone opens nothing: another operator's certificate with it is refused
    const copy = join(dir, 'stolen-session.json');
    copyFileSync(kept, copy);
    const stolen = await runCli(['--server', `${bed.url()}`, '--identity', people.dr!.p12, 'drill', 'list'], { JINBAO_IDENTITY_PASSPHRASE: people.dr!.password, JINBAO_SESSION_FILE: copy });
    expect(stolen.stderr).toContain(`the session token is not one of operator ${people.dr!.id}'s`);
    expect((await as('drill2', ['drill', 'list'], [], null)).code).toBe(0);
    const logout = await as('drill2', ['logout'], [], null);
    expect(logout.stdout).toBe(`logged out: the session of ${people.drill2!.id} has ended\n`);
    expect(existsSync(kept)).toBe(false);
    expect((await as('drill2', ['drill', 'list'], [], null)).stderr).toContain('the service wants your password');
    expect((await auditOf('serve.session.open')).filter((e) => e.subject === people.drill2!.id)).toHaveLength(1);
    expect((await auditOf('serve.logout')).at(-1)).toMatchObject({ outcome: 'ok', subject: people.drill2!.id });
    expect((await as('drill2', ['logout'], [], null)).stderr).toContain('no session is kept in');
  });

  it('GIVEN a session left unused beyond --session-timeout THEN the next command is refused with a request to log in again, the expiry is audited, and the kept session is dropped', async () => {
    expect((await as('drill2', ['login'])).code).toBe(0);
    expect((await as('drill2', ['drill', 'list', '--json'], [], null)).code).toBe(0);
    await new Promise((r) => setTimeout(r, 5_000));
    const late = await as('drill2', ['drill', 'list'], [], null);
    expect(late.code).toBe(2);
    expect(late.stderr).toBe('jinbao: your session has expired (idle): log in again with jinbao login\n');
    expect(readdirSync(join(sessions, 'jinbao', 'sessions'))).toEqual([]);
    const expiry = (await auditOf('serve.session.expire')).filter((e) => e.subject === people.drill2!.id);
    expect(expiry).toHaveLength(1);
    expect(expiry[0]!.details).toMatchObject({ why: 'idle', remote: '127.0.0.1' });
  }, 30_000);

  it('GIVEN the audit administrator WHEN exporting CSV with --out in client mode THEN the file is written on their machine with the named fields', async () => {
    const out = join(dir, 'export.csv');
    const r = await as('audit', ['audit', 'export', '--format', 'csv', '--action', 'operator.lock', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [header, ...rows] = readFileSync(out, 'utf8').trim().split('\r\n');
    expect(header).toBe('seq,time,operator_id,operator_subject,certificate_serial,role,scope,source_address,event_type,outcome,subject,approval_chain,reason,actor');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`^\\d+,\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z,${people.dr!.id},"[^"]*CN=孙丽[^"]*",${people.dr!.serial},dr-coordinator,nation,127\\.0\\.0\\.1,operator\\.lock,ok,${people.dr!.id},,wrong password: operator`));
  });

  it('GIVEN a terminal and no passwords in the environment THEN the identity password and the service password are asked without echo, and login works', async () => {
    const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, '--import', 'tsx', 'bin/jinbao.ts', '--server', `${bed.url()}`, '--identity', people.gd!.p12, 'login'].map(quote).join(' ');
    const { JINBAO_IDENTITY_PASSPHRASE: _a, JINBAO_OPERATOR_PASSWORD: _b, ...clean } = process.env;
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...clean, XDG_CONFIG_HOME: join(dir, 'tty-config'), TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    child.stdout!.on('data', (b: Buffer) => (seen += b.toString()));
    await waitUntil(() => seen.includes('password of the identity bundle: '), 'the identity password prompt', { timeoutMs: 60_000 });
    child.stdin!.write(`${people.gd!.password}\r`);
    await waitUntil(() => seen.includes('your jinbao operator password: '), 'the service password prompt', { timeoutMs: 30_000 });
    child.stdin!.write(`${people.gd!.login}\r`);
    await waitUntil(() => child.exitCode !== null, 'jinbao login to finish', { timeoutMs: 60_000 });
    expect(seen).toContain(`logged in as ${people.gd!.id} (security-admin@440000)`);
    expect(seen).not.toContain(people.gd!.password);
    expect(seen).not.toContain(people.gd!.login);
    expect(child.exitCode).toBe(0);
    expect(readdirSync(join(dir, 'tty-config', 'jinbao', 'sessions'))).toHaveLength(1);
  }, 120_000);
});
