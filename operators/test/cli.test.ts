import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { stateBackends } from '../../lib/test/state-backends.js';
import { inventoryFile, mustOpenssl, openssl, PASS } from '../../pki/test/helpers.js';

interface Added {
  operator: { id: string; role: string; scope: string | null; status: string; certificateSerial: string; caId: string };
  files: { p12: string; password: string; loginPassword: string; certificate: string; chain: string };
}

const backends = stateBackends('jinbao-operators-');

describe.each(backends)('jinbao operator on $name: people, roles and their operator certificates', ({ skip, fresh }) => {
  let dir: string;
  let inv: string;
  let state: string;
  let env: Record<string, string>;
  const cli = (args: string[], e: Record<string, string> = env) => runCli(['--inventory', inv, '--state', state, ...args], e);
  const add = async (name: string, staffNumber: string, role: string, extra: string[] = []) => {
    const r = await cli(['operator', 'add', '--name', name, '--staff-number', staffNumber, '--role', role, '--out', join(dir, 'ops'), '--json', ...extra]);
    return { ...r, added: r.code === 0 ? (JSON.parse(r.stdout) as Added) : undefined };
  };
  const certificateCount = async () => (JSON.parse((await cli(['pki', 'list', '--json'])).stdout) as unknown[]).length;
  const iam05 = async () => {
    const r = await cli(['comply', '--format', 'json']);
    return (JSON.parse(r.stdout) as { results: { control: { id: string }; status: string; findings: { message: string }[] }[] }).results.find((x) => x.control.id === 'MLPS-IAM-05')!;
  };

  beforeAll(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), 'jinbao-operators-'));
    inv = inventoryFile(dir);
    state = await fresh();
    env = { JINBAO_PKI_PASSPHRASE: PASS, JINBAO_WORK_DIR: join(dir, 'work') };
    expect((await cli(['pki', 'init'])).code).toBe(0);
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)('GIVEN no operators THEN the CLI says it acts as one local operator, state status says so and comply fails MLPS-IAM-05', async () => {
    expect((await cli(['operator', 'list'])).stdout).toContain('no operators: the CLI acts as one local operator');
    expect((await cli(['state', 'status'])).stdout).toContain("operators: none — the CLI acts as one local operator; MLPS level 3's administrator controls are not met");
    const r = await iam05();
    expect(r.status).toBe('fail');
    expect(r.findings[0]!.message).toMatch(/^no operators: one local operator acts with every privilege/);
  });

  it.skipIf(skip)('WHEN a security administrator is added THEN a PKCS#12 bundle opens with the password from its separate file and OpenSSL verifies the operator certificate for client authentication', async () => {
    const { code, added, stderr } = await add('张伟', '100234', 'security-admin');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(added!.operator).toMatchObject({ role: 'security-admin', scope: null, status: 'active', caId: 'ministry-staff' });
    expect(statSync(added!.files.password).mode & 0o777).toBe(0o600);
    expect(statSync(added!.files.p12).mode & 0o777).toBe(0o600);
    const info = openssl(['pkcs12', '-in', added!.files.p12, '-passin', `file:${added!.files.password}`, '-nodes', '-info']);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain('BEGIN PRIVATE KEY');
    const chain = readFileSync(added!.files.chain, 'utf8');
    const root = chain.slice(chain.lastIndexOf('-----BEGIN CERTIFICATE-----'));
    const rootFile = join(dir, 'root.pem');
    const intermediate = join(dir, 'inter.pem');
    writeFileSync(rootFile, root);
    writeFileSync(intermediate, chain.slice(0, chain.lastIndexOf('-----BEGIN CERTIFICATE-----')));
    expect(mustOpenssl(['verify', '-purpose', 'sslclient', '-CAfile', rootFile, '-untrusted', intermediate, added!.files.certificate])).toContain(': OK');
    const subject = mustOpenssl(['x509', '-in', added!.files.certificate, '-noout', '-subject', '-nameopt', 'utf8,sep_comma_plus']);
    expect(subject).toContain('serialNumber=100234');
    expect(subject).toContain('CN=张伟');
  });

  it.skipIf(skip)('GIVEN the security administrator WHEN the same person is given any other role THEN it is refused, nothing is issued and the refusal is audited', async () => {
    const before = await certificateCount();
    for (const role of ['viewer', 'audit-admin']) {
      const r = await add('张伟', '100234', role);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`staff number 100234 cannot hold ${role}: the security administrator holds no other role \\(MLPS 8\\.1\\.7\\.2\\); op-[0-9a-f]+ is in the way`));
    }
    expect(await certificateCount()).toBe(before);
    const audit = (await cli(['audit', 'export', '--action', 'operator.add'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { outcome: string; subject: string });
    expect(audit.filter((a) => a.outcome === 'refused').map((a) => a.subject)).toEqual(['100234/viewer', '100234/audit-admin']);
  });

  it.skipIf(skip)('GIVEN a system administrator WHEN they are also to be the audit administrator THEN it is refused in Chinese under --lang zh-CN', async () => {
    expect((await add('李娜', '440017', 'system-admin', ['--scope', '440000'])).added!.operator).toMatchObject({ scope: '440000', caId: 'province-440000-staff' });
    const r = await runCli(['--lang', 'zh-CN', '--inventory', inv, '--state', state, 'operator', 'add', '--name', '李娜', '--staff-number', '440017', '--role', 'audit-admin', '--out', join(dir, 'ops')], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('工号 440017 不能担任 audit-admin：此人已是 system-admin');
  });

  it.skipIf(skip)('GIVEN bad input THEN each is refused naming the flag, with nothing issued', async () => {
    const before = await certificateCount();
    expect((await add('王五', '1', 'viewer')).stderr).toContain('--staff-number: got "1", want 4 to 32 letters, digits or hyphens');
    expect((await add('王五', '5005', 'root')).stderr).toContain('--role: got "root", want one of system-admin, security-admin, audit-admin, dr-coordinator, viewer');
    expect((await add('王五', '5005', 'viewer', ['--scope', '440100'])).stderr).toContain('--scope: got "440100", want a province\'s site id');
    expect(await certificateCount()).toBe(before);
  });

  it.skipIf(skip)('WHEN the three posts are held by three people THEN state status and comply say so; WHEN the audit administrator is suspended THEN the post is empty again', async () => {
    const audit = (await add('赵六', '300001', 'audit-admin')).added!;
    expect((await cli(['state', 'status'])).stdout).toContain('operators: 3 active; administrator roles: all three held');
    const pass = await iam05();
    expect(pass.status).toBe('pass');
    expect(pass.findings[0]!.message).toBe('the three administrators are separate people (3 active operators)');
    expect((await cli(['operator', 'suspend', audit.operator.id])).stdout).toMatch(/suspended/);
    expect((await iam05()).findings[0]!.message).toBe('administrator roles nobody active holds: audit-admin; add them with jinbao operator add');
    expect((await cli(['--lang', 'zh-CN', 'comply'])).stdout).toContain('以下管理员角色无在用操作员担任：audit-admin；请用 jinbao operator add 添加');
    expect((await cli(['operator', 'resume', audit.operator.id])).code).toBe(0);
    expect((await iam05()).status).toBe('pass');
  });

  it.skipIf(skip)('WHEN an operator is removed THEN their certificate is revoked (cessationOfOperation), the record stays for the audit trail and a second removal is refused', async () => {
    const viewer = (await add('钱七', '500001', 'viewer')).added!;
    const removed = await cli(['operator', 'remove', viewer.operator.id, '--json']);
    expect(JSON.parse(removed.stdout).operator.status).toBe('removed');
    const cert = JSON.parse((await cli(['pki', 'show', viewer.operator.certificateSerial, '--json'])).stdout) as { status: string; revocationReason?: string };
    expect(cert).toMatchObject({ status: 'revoked', revocationReason: 'cessationOfOperation' });
    expect((await cli(['operator', 'list', '--json'])).stdout).not.toContain(viewer.operator.id);
    expect((await cli(['operator', 'list', '--all', '--json'])).stdout).toContain(viewer.operator.id);
    const again = await cli(['operator', 'remove', viewer.operator.id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`operator ${viewer.operator.id} is removed: cannot remove it`);
    expect((await cli(['operator', 'show', 'nobody'])).stderr).toContain('no operator "nobody": want an operator id or a staff number');
    expect(readdirSync(join(dir, 'ops')).filter((f) => f.endsWith('.p12.password'))).toHaveLength(4);
  });

  it.skipIf(skip)('WHEN an operator is added THEN their service password is in its own file; operator password sets a chosen or a random one, audited without it; unlocking an operator who is not locked is refused', async () => {
    const dr = (await add('孙八', '600001', 'dr-coordinator')).added!;
    expect(statSync(dr.files.loginPassword).mode & 0o777).toBe(0o600);
    expect(readFileSync(dr.files.loginPassword, 'utf8')).toMatch(/^[\w-]{20}\n$/);
    const chosen = await cli(['operator', 'password', dr.operator.id], { ...env, JINBAO_NEW_OPERATOR_PASSWORD: 'a long chosen password' });
    expect(chosen.stdout).toBe(`operator ${dr.operator.id} (孙八, dr-coordinator): service password set\n`);
    const random = await cli(['operator', 'password', dr.operator.id, '--json']);
    const shown = (JSON.parse(random.stdout) as { password: string }).password;
    expect(shown).toMatch(/^[\w-]{20}$/);
    const weak = await cli(['--lang', 'zh-CN', 'operator', 'password', dr.operator.id], { ...env, JINBAO_NEW_OPERATOR_PASSWORD: 'short' });
    expect(weak.code).toBe(2);
    expect(weak.stderr).toBe('jinbao: 口令长度应为 12 至 1024 个字符：收到的过短或过长\n');
    const unlock = await cli(['operator', 'unlock', dr.operator.id]);
    expect(unlock.code).toBe(2);
    expect(unlock.stderr).toBe(`jinbao: operator ${dr.operator.id} is not locked (0 failed login(s) counted): nothing to unlock\n`);
    const audit = (await cli(['audit', 'export', '--format', 'csv', '--action', 'operator.'])).stdout;
    expect(audit).not.toContain('a long chosen password');
    expect(audit).not.toContain(shown);
    expect(audit.split('\r\n').filter((l) => l.includes(`,operator.password,`) && l.includes(dr.operator.id)).map((l) => l.split(',')[9])).toEqual(['ok', 'ok', 'refused']);
    const login = await cli(['login']);
    expect(login.stderr).toBe('jinbao: jinbao login talks to a service: give --server URL --identity FILE.p12 (client mode)\n');
  });
});

